// Verifies each connection's session (database, user, name) whenever it becomes ready, so that no
// command runs in a database, as a user or under a name other than the config's (issue 9 §2).

import { Cluster, type Redis } from 'ioredis';
import { classifyFailure, describeFailure, type Failure } from './redis-failure.js';

/** What the config says the session must be. */
export interface SessionExpectation {
  /** REDIS_DB; 0 on a cluster (it has no other). */
  readonly db: number;
  /** The CLIENT SETNAME name. */
  readonly name: string;
  /** REDIS_USERNAME; undefined means the `default` user. */
  readonly username: string | undefined;
}

/**
 * - `pending`: not connected, or connected and being checked: nobody may use it yet.
 * - `verified`: ready, and its session is what the config says.
 * - `refused`: Redis refused the session (AUTH, SELECT) or it is not what the config says; the
 *   connection was closed and is retried with backoff. `problem` says it in the operator's words and
 *   names the variable; `configError` marks a refusal that only the config can fix (a REDIS_DB the
 *   server does not have).
 */
export type SessionState =
  | { readonly kind: 'pending' }
  | { readonly kind: 'verified' }
  | { readonly kind: 'refused'; readonly problem: string; readonly failure: Failure; readonly configError: boolean };

type RedisClient = Redis | Cluster;

/** The session of one client, as far as it is known; changes are announced to subscribers. */
export class Session {
  #state: SessionState = { kind: 'pending' };
  #everVerified = false;
  #lastError: Error | undefined;
  /** A note on something the service can live with (e.g. CLIENT SETNAME denied): logged, not fatal. */
  #warning: string | undefined;
  readonly #listeners = new Set<(state: SessionState) => void>();

  get state(): SessionState {
    return this.#state;
  }

  get everVerified(): boolean {
    return this.#everVerified;
  }

  /** The last 'error' event of the client: ioredis rejects connect() with a generic message. */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  get warning(): string | undefined {
    return this.#warning;
  }

  /** Calls fn on every change of state; returns the unsubscribe function. */
  subscribe(fn: (state: SessionState) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  set(state: SessionState): void {
    if (state.kind === 'verified') this.#everVerified = true;
    this.#state = state;
    for (const fn of [...this.#listeners]) fn(state);
  }

  noteError(error: Error): void {
    this.#lastError = error;
  }

  warn(warning: string): void {
    this.#warning = warning;
  }
}

const sessions = new WeakMap<RedisClient, Session>();

/** The session watch of a client made by createRedis or the CLI; undefined for any other client. */
export function sessionOf(client: RedisClient): Session | undefined {
  return sessions.get(client);
}

// Commands ioredis sends while opening a connection; it reports their refusal as an 'error' event
// and, for SELECT, goes on to 'ready' in database 0 all the same.
const HANDSHAKE = new Set(['auth', 'hello', 'select']);

function handshakeCommand(error: Error): string | undefined {
  const name = (error as Error & { command?: { name?: unknown } }).command?.name;
  return typeof name === 'string' && HANDSHAKE.has(name.toLowerCase()) ? name.toLowerCase() : undefined;
}

function refusal(problem: string, failure: Failure, configError: boolean): SessionState {
  return { kind: 'refused', problem, failure, configError };
}

/** Pure: the fields of a CLIENT INFO line (`id=7 addr=… name=x db=5 … user=default …`). */
export function clientInfoFields(line: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const pair of line.trim().split(' ')) {
    const eq = pair.indexOf('=');
    if (eq > 0) fields[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return fields;
}

/**
 * Pure: compares a CLIENT INFO line with the expectation. Returns the problems that misfile data
 * (database, user) and, separately, a name mismatch (only the duplicate-consumer check relies on it).
 */
export function compareSession(
  line: string,
  expected: SessionExpectation,
): { readonly problems: readonly string[]; readonly nameProblem: string | undefined } {
  const fields = clientInfoFields(line);
  const problems: string[] = [];
  if (fields.db !== String(expected.db)) {
    problems.push(`REDIS_DB is ${expected.db} but the connection is in database ${fields.db ?? '(unknown)'}`);
  }
  const user = expected.username ?? 'default';
  if (fields.user !== undefined && fields.user !== user) {
    problems.push(`REDIS_USERNAME is ${user} but the connection is authenticated as ${fields.user}`);
  }
  const nameProblem =
    fields.name === expected.name
      ? undefined
      : `the connection is named ${JSON.stringify(fields.name ?? '')}, not ${JSON.stringify(expected.name)} (is CLIENT SETNAME denied?): a second instance with the same P27_CONSUMER cannot be detected`;
  return { problems, nameProblem };
}

/** A mismatch found by CLIENT INFO: not a Redis error reply, but a deployment fault all the same. */
const MISMATCH: Failure = {
  class: 'deployment',
  code: 'SESSION',
  explanation: 'the connection is not the session the config asks for',
  message: '',
  reply: undefined,
};

/**
 * Watches a client's session: refusals during the connection handshake (AUTH, SELECT), then a
 * CLIENT INFO check on every 'ready'. A refused SELECT closes the connection at once, before it
 * becomes ready, so no command ever runs in database 0 by mistake. Returns the Session.
 */
export function watchSession(client: RedisClient, expected: SessionExpectation): Session {
  const session = new Session();
  sessions.set(client, session);
  client.on('error', (error: Error) => {
    session.noteError(error);
    const command = handshakeCommand(error);
    const failure = classifyFailure(error);
    // 'error' events are the connection's own (replies to commands reject their promises): a
    // deployment-class one (NOAUTH from the ready check's INFO, NOPERM) means this session is refused.
    if (command === undefined && failure.class !== 'deployment') return;
    // AUTH's explanations already name REDIS_USERNAME/REDIS_PASSWORD; SELECT's gets the value.
    const problem =
      command === 'select' ? `REDIS_DB=${expected.db}: ${describeFailure(failure)}` : describeFailure(failure);
    // Only a database the server does not have is the config's fault for certain (REDIS_DB).
    const configError = command === 'select' && failure.code === 'ERR';
    session.set(refusal(problem, failure, configError));
    // ioredis would go on to 'ready' in database 0; closing now makes it reconnect with backoff.
    if (command === 'select' && !(client instanceof Cluster)) client.disconnect(true);
  });
  client.on('close', () => {
    if (session.state.kind === 'verified') session.set({ kind: 'pending' });
  });
  if (client instanceof Cluster) {
    // A cluster has database 0 only and no SELECT; its nodes authenticate in their own handshakes.
    client.on('ready', () => session.set({ kind: 'verified' }));
    client.on('reconnecting', () => {
      if (session.state.kind === 'verified') session.set({ kind: 'pending' });
    });
    return session;
  }
  let epoch = 0;
  client.on('ready', () => {
    epoch += 1;
    void verify(client, expected, session, epoch, () => epoch);
  });
  return session;
}

async function verify(
  client: Redis,
  expected: SessionExpectation,
  session: Session,
  epoch: number,
  current: () => number,
): Promise<void> {
  let line: string;
  try {
    line = String(await client.client('INFO'));
  } catch (error) {
    if (epoch !== current()) return;
    const failure = classifyFailure(error);
    // CLIENT INFO denied by an ACL or older than Redis 6.2: the handshake's own checks (a refused
    // SELECT or AUTH closes the connection) are all there is.
    if (failure.class === 'deployment') {
      session.set({ kind: 'verified' });
      return;
    }
    // The connection dropped again; the next 'ready' checks again.
    return;
  }
  if (epoch !== current() || client.status !== 'ready') return;
  const { problems, nameProblem } = compareSession(line, expected);
  if (problems.length > 0) {
    const failure = { ...MISMATCH, message: problems.join('; ') };
    session.set(refusal(problems.join('; '), failure, false));
    // Closed for good; the owner reconnects with backoff (the service on 'end').
    client.disconnect();
    return;
  }
  if (nameProblem !== undefined) session.warn(nameProblem);
  session.set({ kind: 'verified' });
}
