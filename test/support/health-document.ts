// Reads the service's JSON probes (GET /health, /readyz, /livez) the way an operator's curl does: the
// document with the HTTP status and content type beside it. The one health fetcher of the tests.

import { HANG_MS } from './timing.js';

/** The /health JSON (spec "Health Endpoint" plus README: version, mode, redis, reasons). */
export interface HealthDocument {
  readonly status: string;
  readonly last_ts_epoch: number | null;
  readonly last_loop_ms: number;
  readonly backlog: number;
  readonly reasons: string[];
  readonly [field: string]: unknown;
}

/** One answer of a JSON probe endpoint. */
export interface HealthReply {
  /** 200 for ok and degraded, 503 for error (README "Health"). */
  readonly code: number;
  readonly contentType: string;
  /** The parsed body as sent: /health's document, or /readyz's and /livez's {status, reasons}. */
  readonly body: Readonly<Record<string, unknown>>;
  /** body.status; undefined when the body has none (a shape test then fails on it, never on 'undefined'). */
  readonly status: string | undefined;
  /** body.redis ('up' | 'down' on /health); undefined where the endpoint has none. */
  readonly redis: string | undefined;
  /** body.reasons; undefined when the body has no list there. */
  readonly reasons: readonly string[] | undefined;
}

/**
 * GET a probe URL and parse its JSON, whatever the HTTP status. Rejects when nothing answers within
 * HANG_MS (a hung endpoint, never a slow machine: no test bounds how long the answer took) or when
 * the body is not JSON.
 */
export async function healthReply(url: string): Promise<HealthReply> {
  const response = await fetch(url, { signal: AbortSignal.timeout(HANG_MS) });
  const body = (await response.json()) as Record<string, unknown>;
  return {
    code: response.status,
    contentType: response.headers.get('content-type') ?? '',
    body,
    status: typeof body.status === 'string' ? body.status : undefined,
    redis: typeof body.redis === 'string' ? body.redis : undefined,
    reasons: Array.isArray(body.reasons) ? body.reasons.map(String) : undefined,
  };
}

/** The /health document alone (whatever the HTTP status), typed by the spec's fields. */
export async function fetchHealth(healthUrl: string): Promise<HealthDocument> {
  return (await healthReply(healthUrl)).body as HealthDocument;
}
