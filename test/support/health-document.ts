// Reads the service's GET /health the way an operator's curl does: the spec's fields and the
// README's additions, with the HTTP status beside them.

import { HANG_MS } from './timing.js';

/** The /health JSON (spec "Health Endpoint" plus README: version, redis, reasons, …). */
export interface HealthDocument {
  readonly status: string;
  readonly last_ts_epoch: number | null;
  readonly last_loop_ms: number;
  readonly backlog: number;
  readonly reasons: string[];
  readonly [field: string]: unknown;
}

export interface HealthReply {
  /** 200 for ok and degraded, 503 for error. */
  readonly code: number;
  readonly contentType: string;
  readonly body: HealthDocument;
}

/**
 * GET the URL and parse its JSON, with the status and content type; rejects when nothing answers
 * within HANG_MS (a hung endpoint, never a slow machine: no test bounds how long the answer took).
 */
export async function healthReply(healthUrl: string): Promise<HealthReply> {
  const response = await fetch(healthUrl, { signal: AbortSignal.timeout(HANG_MS) });
  return {
    code: response.status,
    contentType: response.headers.get('content-type') ?? '',
    body: (await response.json()) as HealthDocument,
  };
}

/** The /health document alone (whatever the HTTP status). */
export async function fetchHealth(healthUrl: string): Promise<HealthDocument> {
  return (await healthReply(healthUrl)).body;
}
