// Turns the raw runs into the report: medians with ranges, targets, the markdown table and the JSON.

import type { CeilingResult } from './ceiling.js';
import type { DrainResult, Verification } from './drain.js';
import type { FloorResult, LatencyResult } from './latency.js';
import type { ProfileSummary } from './profile-summary.js';
import { round, type Spread, spread } from './stats.js';

export interface RawResults {
  readonly drain: DrainResult[];
  /** apply-decision, one call per decision: the issue's ceiling. */
  readonly ceiling: CeilingResult[];
  /** apply-batch, the service's own call (P27_BATCH decisions per call). */
  readonly ceilingBatch: CeilingResult[];
  readonly latency: LatencyResult[];
  readonly floor: FloorResult[];
  readonly memory: { readonly default: DrainResult[]; readonly recommended: DrainResult[] };
}

export interface Machine {
  readonly nproc: number;
  readonly cpuModel: string;
  readonly memoryGb: number;
  readonly node: string;
  readonly redis: string;
  readonly kernel: string;
}

export interface Meta {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly commit: string;
  /** os.loadavg() when the bench started and ended: how much else the machine was doing. */
  readonly loadAverage: { readonly start: readonly number[]; readonly end: readonly number[] };
  readonly machine: Machine;
  readonly options: Record<string, unknown>;
  readonly recommendedRedis: readonly string[];
  readonly warnings: readonly string[];
}

export interface Target {
  readonly figure: string;
  readonly median: number;
  readonly target: string;
  readonly met: boolean;
}

const MB = 1024 * 1024;
const defined = (values: (number | undefined)[]): number[] => values.filter((v): v is number => v !== undefined);
const okVerify = (v: Verification): boolean => v.missing === 0 && v.wrongFields === 0 && v.latestWrong === 0;

function drainSummary(runs: readonly DrainResult[]) {
  return {
    msgPerSec: spread(runs.map((r) => r.msgPerSec)),
    seconds: spread(runs.map((r) => r.seconds)),
    startupMs: spread(runs.map((r) => r.startupMs)),
    serviceCpuUsPerMsg: spread(
      defined(runs.map((r) => (r.serviceCpuSec === undefined ? undefined : (r.serviceCpuSec * 1e6) / r.count))),
    ),
    redisCpuUsPerMsg: spread(
      defined(runs.map((r) => (r.redisCpuSec === undefined ? undefined : (r.redisCpuSec * 1e6) / r.count))),
    ),
    redisUsecPerMsg: spread(runs.map((r) => r.redisUsecPerMsg)),
    serviceBusy: spread(
      defined(runs.map((r) => (r.serviceCpuSec === undefined ? undefined : r.serviceCpuSec / r.seconds))),
    ),
    redisBusy: spread(defined(runs.map((r) => (r.redisCpuSec === undefined ? undefined : r.redisCpuSec / r.seconds)))),
    peakRssMb: spread(defined(runs.map((r) => r.peakRssBytes)).map((b) => b / MB)),
    bytesPerDecision: spread(runs.map((r) => r.bytesPerDecision)),
    byPlanBytes: spread(runs.map((r) => r.byPlanBytes)),
    byPlanEncoding: runs[0]?.byPlanEncoding ?? '',
    dedupeBytes: spread(runs.map((r) => r.dedupeBytes)),
    verified: runs.every((r) => okVerify(r.verify)),
    runs,
  };
}

function ceilingSummary(runs: readonly CeilingResult[]) {
  if (runs.length === 0) return undefined;
  return {
    perCall: runs[0]?.perCall ?? 1,
    msgPerSec: spread(runs.map((r) => r.msgPerSec)),
    redisUsecPerMsg: spread(runs.map((r) => r.redisUsecPerMsg)),
    redisBusy: spread(defined(runs.map((r) => (r.redisCpuSec === undefined ? undefined : r.redisCpuSec / r.seconds)))),
    /** What Redis alone could do if the client cost nothing: 1 s / Redis CPU per message. */
    redisOnlyMsgPerSec: spread(
      defined(
        runs.map((r) => (r.redisCpuSec === undefined || r.redisCpuSec === 0 ? undefined : r.count / r.redisCpuSec)),
      ),
    ),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    verified: runs.every((r) => okVerify(r.verify)),
    runs,
  };
}

export function buildReport(raw: RawResults, meta: Meta, profiles: readonly ProfileSummary[]) {
  const batches = [...new Set(raw.drain.map((r) => r.batch))];
  const drain = batches.map((batch) => ({ batch, ...drainSummary(raw.drain.filter((r) => r.batch === batch)) }));
  const ceiling = ceilingSummary(raw.ceiling);
  const ceilingBatch = ceilingSummary(raw.ceilingBatch);
  // Run i of drain is paired with run i of the ceiling: both ran in the same round, on the same noise.
  const ratioTo = (ceilings: readonly CeilingResult[]) =>
    drain.map(({ batch, runs }) => ({
      batch,
      value: spread(
        runs.flatMap((r, i) => {
          const c = ceilings[i];
          return c === undefined ? [] : [r.msgPerSec / c.msgPerSec];
        }),
      ),
    }));
  const ratio = ratioTo(raw.ceiling);
  const ratioToBatchCeiling = ratioTo(raw.ceilingBatch);
  const rates = [...new Set(raw.latency.map((r) => r.rate))];
  const latency = rates.map((rate) => {
    const runs = raw.latency.filter((r) => r.rate === rate);
    return {
      rate,
      batch: runs[0]?.batch ?? 10,
      p50Ms: spread(runs.map((r) => r.p50Ms)),
      p99Ms: spread(runs.map((r) => r.p99Ms)),
      maxMs: spread(runs.map((r) => r.maxMs)),
      lost: spread(runs.map((r) => r.lost)),
      sent: spread(runs.map((r) => r.sent)),
      achievedRate: spread(runs.map((r) => r.achievedRate)),
      floorP50Ms: spread(raw.floor.filter((f) => f.rate === rate).map((f) => f.p50Ms)),
      floorP99Ms: spread(raw.floor.filter((f) => f.rate === rate).map((f) => f.p99Ms)),
      floorRuns: raw.floor.filter((f) => f.rate === rate),
      maxScheduleSlipMs: spread(runs.map((r) => r.maxScheduleSlipMs)),
      serviceCpuShare: spread(defined(runs.map((r) => r.serviceCpuShare))),
      runs,
    };
  });
  const memory =
    raw.memory.default.length + raw.memory.recommended.length === 0
      ? undefined
      : {
          default: drainSummary(raw.memory.default),
          recommended: { settings: meta.recommendedRedis, ...drainSummary(raw.memory.recommended) },
          peakRssMb: spread(
            defined([...raw.memory.default, ...raw.memory.recommended].map((r) => r.peakRssBytes)).map((b) => b / MB),
          ),
        };
  const report = {
    meta,
    drain,
    ceiling,
    ceilingBatch,
    ratio,
    ratioToBatchCeiling,
    latency,
    memory,
    profiles,
    targets: [] as Target[],
  };
  report.targets = targets(report);
  return report;
}

export type BenchReport = ReturnType<typeof buildReport>;

function targets(r: Omit<BenchReport, 'targets'>): Target[] {
  const out: Target[] = [];
  const headline = r.ratio[0];
  if (headline !== undefined && r.ceiling !== undefined) {
    const median = headline.value.median;
    out.push({
      figure: `drain / ceiling (P27_BATCH=${headline.batch})`,
      median,
      target: '≥ 0.75',
      met: median >= 0.75,
    });
  }
  for (const l of r.latency) {
    const limit = l.rate <= 1000 ? 2 : l.rate <= 5000 ? 6 : Number.POSITIVE_INFINITY;
    if (Number.isFinite(limit)) {
      out.push({
        figure: `p99 at ${l.rate} msg/s, ms`,
        median: l.p99Ms.median,
        target: `≤ ${limit}`,
        met: l.p99Ms.median <= limit,
      });
    }
    out.push({ figure: `lost at ${l.rate} msg/s`, median: l.lost.max, target: '0', met: l.lost.max === 0 });
  }
  if (r.memory !== undefined) {
    const m = r.memory.recommended.bytesPerDecision.median;
    out.push({ figure: 'Redis bytes per decision, recommended settings', median: m, target: '≤ 1000', met: m <= 1000 });
    const rss = r.memory.peakRssMb.max;
    out.push({ figure: 'service peak RSS, MB (worst run)', median: rss, target: '≤ 120', met: rss <= 120 });
  }
  return out;
}

const fmt = (value: number, digits = 0): string =>
  Number.isFinite(value) ? round(value, digits).toLocaleString('en-US', { maximumFractionDigits: digits }) : '–';
const cell = (s: Spread, digits = 0): [string, string] =>
  s.values.length === 0
    ? ['–', '–']
    : [fmt(s.median, digits), s.values.length > 1 ? `${fmt(s.min, digits)} – ${fmt(s.max, digits)}` : '(1 run)'];

export function markdownTable(r: BenchReport): string {
  const rows: [string, string, string, string][] = [];
  const row = (figure: string, s: Spread, digits: number, target = '') =>
    rows.push([figure, ...cell(s, digits), target]);
  for (const d of r.drain) {
    const tag = d.batch === 10 ? ' (default)' : '';
    row(`drain, P27_BATCH=${d.batch}${tag}: msg/s${d.verified ? '' : ' — VERIFY FAILED'}`, d.msgPerSec, 0);
  }
  if (r.ceiling !== undefined)
    row(
      `ceiling (script direct, pipelined): msg/s${r.ceiling.verified ? '' : ' — VERIFY FAILED'}`,
      r.ceiling.msgPerSec,
      0,
    );
  const cb = r.ceilingBatch;
  if (cb !== undefined)
    row(`ceiling, apply-batch ${cb.perCall} per call: msg/s${cb.verified ? '' : ' — VERIFY FAILED'}`, cb.msgPerSec, 0);
  for (const q of r.ratio)
    if (q.value.values.length > 0)
      row(`drain / ceiling, P27_BATCH=${q.batch}`, q.value, 2, q === r.ratio[0] ? '≥ 0.75' : '');
  for (const q of r.ratioToBatchCeiling)
    if (q.value.values.length > 0) row(`drain / apply-batch ceiling, P27_BATCH=${q.batch}`, q.value, 2);
  for (const [name, c] of [
    ['ceiling', r.ceiling],
    ['apply-batch ceiling', cb],
  ] as const) {
    if (c === undefined) continue;
    row(`${name}: Redis CPU busy, share of one core`, c.redisBusy, 2);
    row(`${name}: Redis-only limit (1 s / Redis CPU per msg), msg/s`, c.redisOnlyMsgPerSec, 0);
  }
  for (const d of r.drain) {
    const b = `drain P27_BATCH=${d.batch}`;
    row(`${b}: service CPU per msg, µs`, d.serviceCpuUsPerMsg, 1);
    row(`${b}: Redis CPU per msg, µs`, d.redisCpuUsPerMsg, 1);
    row(`${b}: Redis command time per msg, µs`, d.redisUsecPerMsg, 1);
    row(`${b}: service CPU busy, share of one core`, d.serviceBusy, 2);
    row(`${b}: Redis CPU busy, share of one core`, d.redisBusy, 2);
  }
  if (r.drain[0] !== undefined) row('drain: start-up (spawn → first delivery), ms', r.drain[0].startupMs, 0);
  if (r.ceiling !== undefined) row('ceiling: Redis command time per msg, µs', r.ceiling.redisUsecPerMsg, 1);
  if (cb !== undefined) row('apply-batch ceiling: Redis command time per msg, µs', cb.redisUsecPerMsg, 1);
  for (const l of r.latency) {
    const p99 = l.rate <= 1000 ? '≤ 2' : l.rate <= 5000 ? '≤ 6' : '';
    const at = `latency ${l.rate} msg/s${l.batch === 10 ? '' : ` (P27_BATCH=${l.batch})`}`;
    row(`${at}: p50, ms`, l.p50Ms, 2);
    row(`${at}: p99, ms`, l.p99Ms, 2, p99);
    row(`${at}: max, ms`, l.maxMs, 1);
    row(`${at}: never arrived (of ${fmt(l.sent.median)})`, l.lost, 0, '0');
    row(`${at}: service CPU, share of one core`, l.serviceCpuShare, 3);
    if (l.floorP99Ms.values.length > 0) {
      row(`${at}: harness floor p50 (XADD → stream notification, no service), ms`, l.floorP50Ms, 2);
      row(`${at}: harness floor p99, ms`, l.floorP99Ms, 2);
    }
  }
  if (r.memory !== undefined) {
    const { default: d, recommended: rec } = r.memory;
    row('Redis bytes per decision, default settings', d.bytesPerDecision, 0);
    row(`Redis bytes per decision, ${rec.settings.join(' ')}`, rec.bytesPerDecision, 0, '≤ 1000');
    row(`by_plan hash (MEMORY USAGE), default: ${d.byPlanEncoding}`, d.byPlanBytes, 0);
    row(`by_plan hash (MEMORY USAGE), recommended: ${rec.byPlanEncoding}`, rec.byPlanBytes, 0);
    row('dedupe key (MEMORY USAGE)', rec.dedupeBytes, 0);
    row('service peak RSS (VmHWM), MB', r.memory.peakRssMb, 1, '≤ 120');
  }
  const lines = ['| Figure | Median | Range | Target |', '|---|---:|---:|---|'];
  for (const [figure, median, range, target] of rows) lines.push(`| ${figure} | ${median} | ${range} | ${target} |`);
  return lines.join('\n');
}

export function targetLines(r: BenchReport): string[] {
  return r.targets.map((t) => `${t.met ? 'met   ' : 'MISSED'}  ${t.figure}: ${fmt(t.median, 2)} (target ${t.target})`);
}
