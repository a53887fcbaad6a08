// Pure: the one place that decides what a failure means — the entry's own, Redis's state, the
// deployment's, or a bug of ours — and says it in the operator's words (issue 9 §1, issue 10 §2).

/**
 * - `entry`: names the entry's own keys or values (WRONGTYPE on a target key): counts toward
 *   P27_MAX_DELIVERIES and may dead-letter the entry.
 * - `redis`: Redis cannot serve right now (OOM, READONLY, LOADING, BUSY, failover, timeouts, lost
 *   connections): retried with backoff, never dead-letters.
 * - `deployment`: the service is set up wrong for this Redis (NOPERM, NOAUTH, WRONGPASS, unknown
 *   command, a server that is not Redis): retried with backoff, never dead-letters, health degraded.
 * - `bug`: anything else, a fault in our own code: logged with its stack, counted, backed off.
 */
export type FailureClass = 'entry' | 'redis' | 'deployment' | 'bug';

export interface Failure {
  readonly class: FailureClass;
  /** The Redis error code (`NOPERM`, `OOM`, …), a Node.js error code, or the error's name. */
  readonly code: string;
  /** What it means, in the operator's words; never a library's internals. */
  readonly explanation: string;
  /** The original message, for debug logs and the stack of a bug. */
  readonly message: string;
  /** Redis's own words when Redis replied (they name a key or command where Redis does); else undefined. */
  readonly reply: string | undefined;
}

interface Rule {
  readonly class: FailureClass;
  readonly explanation: string;
}

/** Redis error replies by their first word (the error code of the RESP protocol). */
const REPLY_CODES: Readonly<Record<string, Rule>> = {
  WRONGTYPE: { class: 'entry', explanation: 'a key this entry writes holds another type' },
  OOM: { class: 'redis', explanation: 'Redis is out of memory (maxmemory reached)' },
  READONLY: { class: 'redis', explanation: 'the server is a read-only replica; waiting for the primary' },
  LOADING: { class: 'redis', explanation: 'Redis is loading its data set into memory' },
  BUSY: { class: 'redis', explanation: 'Redis is busy running a long script' },
  MASTERDOWN: { class: 'redis', explanation: 'the replica has lost its primary' },
  CLUSTERDOWN: { class: 'redis', explanation: 'the Redis cluster is down' },
  TRYAGAIN: { class: 'redis', explanation: 'the Redis cluster is moving the key (resharding)' },
  MOVED: { class: 'redis', explanation: 'the Redis cluster moved the key to another node' },
  ASK: { class: 'redis', explanation: 'the Redis cluster is moving the key to another node' },
  MISCONF: { class: 'redis', explanation: 'Redis refuses writes because it cannot save to disk' },
  NOSCRIPT: { class: 'redis', explanation: "a script is not in Redis's script cache; it is loaded again" },
  UNBLOCKED: { class: 'redis', explanation: 'a blocked read was interrupted (failover or CLIENT UNBLOCK)' },
  NOREPLICAS: { class: 'redis', explanation: 'Redis refuses writes: not enough replicas are connected' },
  NOGROUP: { class: 'redis', explanation: 'the stream or its consumer group is gone; it is created again' },
  NOPERM: { class: 'deployment', explanation: 'the Redis user lacks a permission (ACL)' },
  NOAUTH: { class: 'deployment', explanation: 'Redis requires authentication: set REDIS_PASSWORD' },
  WRONGPASS: {
    class: 'deployment',
    explanation: 'authentication failed: REDIS_USERNAME or REDIS_PASSWORD is wrong',
  },
  CROSSSLOT: { class: 'deployment', explanation: 'keys of one call are in different cluster slots' },
};

/** `ERR …` replies are told apart by their text. */
const ERR_TEXTS: readonly (Rule & { readonly pattern: RegExp })[] = [
  {
    // Redis 7.0's words for an ACL denial inside a script (later versions say NOPERM).
    pattern: /^ERR The user executing the script can't/i,
    class: 'deployment',
    explanation: 'the Redis user lacks a permission (ACL)',
  },
  {
    pattern: /^ERR unknown (?:sub)?command\b/i,
    class: 'deployment',
    explanation: 'this Redis does not know a command',
  },
  {
    pattern: /^ERR (?:DB index is out of range|invalid DB index|SELECT is not allowed)/i,
    class: 'deployment',
    explanation: 'this Redis has no such database (REDIS_DB)',
  },
  {
    pattern: /^ERR .*(?:max number of clients|maxclients)/i,
    class: 'redis',
    explanation: 'Redis has reached its maximum number of clients',
  },
  {
    pattern: /^ERR .*(?:unknown group|The XGROUP subcommand requires the key to exist)/i,
    class: 'redis',
    explanation: 'the stream or its consumer group is gone; it is created again',
  },
];

/** Connection-level failures, from Node.js (`code`) or the client library (its message). */
const NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

const CLIENT_MESSAGES: readonly (Rule & { readonly pattern: RegExp; readonly code: string })[] = [
  { pattern: /Command timed out/i, code: 'TIMEOUT', class: 'redis', explanation: 'Redis did not answer in time' },
  {
    // ioredis's socketTimeout: the connection is torn down and replaced (issue 9 §2).
    pattern: /Socket timeout\. Expecting data/i,
    code: 'TIMEOUT',
    class: 'redis',
    explanation: 'Redis stopped answering on this connection; it is replaced by a new one',
  },
  {
    pattern:
      /Connection is closed|Stream isn't writeable|enableOfflineQueue|max retries per request|maxRetriesPerRequest|Connection timeout|connect ETIMEDOUT|Socket closed unexpectedly|None of the sentinels|All sentinels are unreachable|Failed to refresh slots cache|Cluster isn't ready|no answer within/i,
    code: 'DISCONNECTED',
    class: 'redis',
    explanation: 'the connection to Redis is down; reconnecting',
  },
  {
    pattern: /Unknown RESP type|Protocol error|Expected \r\n/i,
    code: 'NOT_REDIS',
    class: 'deployment',
    explanation: 'what answers at this address is not Redis',
  },
];

/**
 * Node.js's codes for a TLS peer it cannot verify (REDIS_URL=rediss://): a deployment problem that no
 * retry mends, not a bug of ours (issue 12 §2). `ERR_SSL_*` (e.g. a plain port) joins them below.
 */
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

const DISCONNECTED: Rule = { class: 'redis', explanation: 'the connection to Redis is down; reconnecting' };

const BUG: Rule = { class: 'bug', explanation: 'an internal error in HeatBridge (please report it)' };

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Redis appends where a script failed (`script: …, on @user_script:12.`); operators need the cause only. */
function withoutScriptTrailer(message: string): string {
  return message.replace(/\s*script: [0-9a-f]{40}, on @user_script:\d+\.?\s*$/i, '');
}

/**
 * Classifies any thrown value or error reply. Pure and total: never throws; an unknown error is a
 * `bug`. The table of codes follows Redis's error replies (redis.io "Redis errors") and
 * ioredis's client-side errors; tests drive it with replies taken from a real redis-server.
 */
export function classifyFailure(error: unknown): Failure {
  const message = withoutScriptTrailer(messageOf(error));
  const name = error instanceof Error ? error.name : '';
  const nodeCode = (error as { code?: unknown } | null)?.code;
  if (typeof nodeCode === 'string' && NODE_CODES.has(nodeCode)) {
    return { ...DISCONNECTED, code: nodeCode, message, reply: undefined };
  }
  if (typeof nodeCode === 'string' && (TLS_CODES.has(nodeCode) || nodeCode.startsWith('ERR_SSL_'))) {
    // Node's words name the cause ("self-signed certificate", "certificate has expired").
    const explanation = `the TLS connection to Redis was refused (${message}): trust its certificate's CA (NODE_EXTRA_CA_CERTS) or check REDIS_URL`;
    return { class: 'deployment', code: nodeCode, explanation, message, reply: undefined };
  }
  const isReply = name === 'ReplyError' || name === 'RedisError';
  const first = /^[A-Z]{2,}(?=\s|$)/.exec(message)?.[0] ?? '';
  const byCode = REPLY_CODES[first];
  if (byCode !== undefined) return { ...byCode, code: first, message, reply: message };
  if (first === 'ERR') {
    for (const rule of ERR_TEXTS) {
      if (rule.pattern.test(message)) {
        return { class: rule.class, code: 'ERR', explanation: rule.explanation, message, reply: message };
      }
    }
  }
  if (!isReply) {
    for (const rule of CLIENT_MESSAGES) {
      if (rule.pattern.test(message)) {
        return { class: rule.class, code: rule.code, explanation: rule.explanation, message, reply: undefined };
      }
    }
    if (name === 'MaxRetriesPerRequestError' || name === 'ClusterAllFailedError') {
      return { ...DISCONNECTED, code: 'DISCONNECTED', message, reply: undefined };
    }
  }
  return { ...BUG, code: first === '' ? name || 'Error' : first, message, reply: isReply ? message : undefined };
}

/** One line for logs, /health and the CLI: the explanation, then Redis's own words where it replied. */
export function describeFailure(failure: Failure): string {
  if (failure.class === 'bug') return `${failure.explanation}: ${failure.message}`;
  return failure.reply === undefined ? failure.explanation : `${failure.explanation} (${failure.reply})`;
}
