// Pure: reads the --before bound of `heat-bridge dlq purge` (a time, an age or a stream id) as an exclusive stream id.

/** Units of an age (`30m`, `24h`, `7d`), in milliseconds. */
const AGE_UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export type BeforeBound = { readonly ok: true; readonly id: string } | { readonly ok: false; readonly problem: string };

/**
 * The exclusive upper bound of the entries to purge, as a stream id (`<ms>-0`): entries whose id is
 * below it were dead-lettered before that moment (a dead letter's id is the time Redis added it).
 * Accepts an age (`90s`, `30m`, `24h`, `7d`: older than that, counted from nowMs), an ISO 8601 time
 * (`2026-11-30T12:00:00Z`), or a stream id (`1700000000000-0`, itself kept).
 */
export function parseBefore(text: string, nowMs: number): BeforeBound {
  const age = /^(\d+)([smhd])$/.exec(text);
  if (age !== null) {
    const ms = Number(age[1]) * (AGE_UNITS[age[2] as string] as number);
    return { ok: true, id: `${Math.max(0, nowMs - ms)}-0` };
  }
  if (/^\d+-\d+$/.test(text)) return { ok: true, id: text };
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const ms = Date.parse(text);
    if (Number.isFinite(ms) && ms >= 0) return { ok: true, id: `${ms}-0` };
  }
  return {
    ok: false,
    problem: `--before: expected an age (30m, 24h, 7d), an ISO 8601 time or a stream id, got ${JSON.stringify(text)}`,
  };
}
