// Turns the raw runs into the report: medians with ranges, targets, the markdown table and the JSON.

import type { CeilingResult } from './ceiling.js';
import type { ClusterDrainResult } from './cluster.js';
import type { DrainResult, Verification } from './drain.js';
import type { FloorResult, LatencyResult } from './latency.js';
import type { ProfileSummary } from './profile-summary.js';
import { round, type Spread, spread } from './stats.js';

export interface RawResults {
  readonly drain: DrainResult[];
  /** The issue's minimal ceiling (bench/minimal-ceiling.lua), one per round. */
  readonly ceiling: CeilingResult[];
  /** HeatBridge and the trivial bridge, side by side in each round. */
  readonly latency: LatencyResult[];
  readonly floor: FloorResult[];
  readonly memory: { readonly default: DrainResult[]; readonly recommended: DrainResult[] };
  /** Scale-out: the round's default drain by one instance, and two instances in one group. */
  readonly scale: { readonly one: DrainResult[]; readonly two: DrainResult[] };
  /** The Cluster drain of each round, and that round's standalone drain at P27_BATCH=10 it is compared with. */
  readonly cluster: { readonly standalone: DrainResult[]; readonly cluster: ClusterDrainResult[] };
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

/** One of the issue's targets: HeatBridge's figure beside its reference, and the ratio or difference judged. */
export interface Target {
  readonly figure: string;
  /** HeatBridge's figure, median of the runs. */
  readonly value: Spread;
  /** The reference measured in the same rounds (minimal ceiling, trivial bridge), or undefined for a fixed limit. */
  readonly reference: Spread | undefined;
  /** What is judged: ratio or difference per round (median and range), or the value itself. */
  readonly judged: Spread;
  /** 'ratio', 'difference' (ms) or 'value'. */
  readonly kind: 'ratio' | 'difference' | 'value';
  readonly target: string;
  readonly met: boolean;
  /** How far the judged median is from the target when missed, in words ('' when met). */
  readonly missedBy: string;
  readonly digits: number;
}

const MB = 1024 * 1024;
const defined = (values: (number | undefined)[]): number[] => values.filter((v): v is number => v !== undefined);
const okVerify = (v: Verification): boolean => v.missing === 0 && v.wrongFields === 0 && v.latestWrong === 0;

function drainSummary(runs: readonly DrainResult[]) {
  return {
    msgPerSec: spread(runs.map((r) => r.msgPerSec)),
    seconds: spread(runs.map((r) => r.seconds)),
    startupMs: spread(runs.map((r) => r.startupMs)),
    /** While draining: from the first delivery to the end (the issue's figure). */
    serviceCpuUsPerMsg: spread(defined(runs.map(serviceUs))),
    /** Over the service's whole life, start-up included. */
    serviceLifeCpuUsPerMsg: spread(
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
    msgPerSec: spread(runs.map((r) => r.msgPerSec)),
    redisUsecPerMsg: spread(runs.map((r) => r.redisUsecPerMsg)),
    redisCpuUsPerMsg: spread(
      defined(runs.map((r) => (r.redisCpuSec === undefined ? undefined : (r.redisCpuSec * 1e6) / r.count))),
    ),
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

/** Per-round pairs a[i] ∘ b[i] (both ran in the same round, on the same machine noise). */
function paired<A, B>(a: readonly A[], b: readonly B[], f: (x: A, y: B) => number | undefined): Spread {
  return spread(
    defined(
      a.map((x, i) => {
        const y = b[i];
        return y === undefined ? undefined : f(x, y);
      }),
    ),
  );
}

const serviceUs = (r: { serviceDrainCpuSec: number | undefined; count: number }) =>
  r.serviceDrainCpuSec === undefined ? undefined : (r.serviceDrainCpuSec * 1e6) / r.count;
const redisUs = (r: { redisCpuSec: number | undefined; count: number }) =>
  r.redisCpuSec === undefined ? undefined : (r.redisCpuSec * 1e6) / r.count;

/** The Cluster drain's figures, and its ratios to the same round's standalone drain and minimal ceiling. */
function clusterSummary(raw: RawResults) {
  const { cluster: runs, standalone } = raw.cluster;
  if (runs.length === 0) return undefined;
  const ratio = (x: number | undefined, y: number | undefined) =>
    x === undefined || y === undefined || y === 0 ? undefined : x / y;
  return {
    masters: runs[0]?.masters ?? 0,
    batch: runs[0]?.batch ?? 10,
    msgPerSec: spread(runs.map((r) => r.msgPerSec)),
    seconds: spread(runs.map((r) => r.seconds)),
    startupMs: spread(runs.map((r) => r.startupMs)),
    /** While draining: from the first delivery to the end, as for the standalone drain. */
    serviceCpuUsPerMsg: spread(defined(runs.map(serviceUs))),
    /** The masters' redis-server processes summed. */
    redisCpuUsPerMsg: spread(defined(runs.map(redisUs))),
    redisBusy: spread(defined(runs.map((r) => (r.redisCpuSec === undefined ? undefined : r.redisCpuSec / r.seconds)))),
    peakRssMb: spread(defined(runs.map((r) => r.peakRssBytes)).map((b) => b / MB)),
    /** The standalone drains (P27_BATCH=10) the Cluster drain is paired with, one per round. */
    standaloneMsgPerSec: spread(standalone.map((r) => r.msgPerSec)),
    /** Per round: Cluster drain msg/s over the standalone drain's at P27_BATCH=10. */
    overStandalone: paired(runs, standalone, (c, s) => c.msgPerSec / s.msgPerSec),
    /** Per round: Cluster drain msg/s over the minimal ceiling's (standalone, no service). */
    overCeiling: paired(runs, raw.ceiling, (c, m) => c.msgPerSec / m.msgPerSec),
    serviceCpuOverStandalone: paired(runs, standalone, (c, s) => ratio(serviceUs(c), serviceUs(s))),
    redisCpuOverStandalone: paired(runs, standalone, (c, s) => ratio(redisUs(c), redisUs(s))),
    redisCpuOverCeiling: paired(runs, raw.ceiling, (c, m) => ratio(redisUs(c), redisUs(m))),
    verified: runs.every((r) => okVerify(r.verify)),
    runs,
  };
}

function latencySummary(runs: readonly LatencyResult[]) {
  return {
    p50Ms: spread(runs.map((r) => r.p50Ms)),
    p99Ms: spread(runs.map((r) => r.p99Ms)),
    maxMs: spread(runs.map((r) => r.maxMs)),
    lost: spread(runs.map((r) => r.lost)),
    sent: spread(runs.map((r) => r.sent)),
    achievedRate: spread(runs.map((r) => r.achievedRate)),
    maxScheduleSlipMs: spread(runs.map((r) => r.maxScheduleSlipMs)),
    serviceCpuShare: spread(defined(runs.map((r) => r.serviceCpuShare))),
    peakRssMb: spread(defined(runs.map((r) => r.peakRssBytes)).map((b) => b / MB)),
    runs,
  };
}

export function buildReport(raw: RawResults, meta: Meta, profiles: readonly ProfileSummary[]) {
  const batches = [...new Set(raw.drain.map((r) => r.batch))];
  const drain = batches.map((batch) => ({ batch, ...drainSummary(raw.drain.filter((r) => r.batch === batch)) }));
  const ceiling = ceilingSummary(raw.ceiling);
  const ratio = drain.map(({ batch, runs }) => ({
    batch,
    value: paired(runs, raw.ceiling, (d, c) => d.msgPerSec / c.msgPerSec),
  }));
  const rates = [...new Set(raw.latency.map((r) => r.rate))];
  const latency = rates.map((rate) => {
    const heat = raw.latency.filter((r) => r.rate === rate && r.bridge === 'heat-bridge');
    const trivial = raw.latency.filter((r) => r.rate === rate && r.bridge === 'trivial');
    const floors = raw.floor.filter((f) => f.rate === rate);
    return {
      rate,
      batch: heat[0]?.batch ?? 10,
      heat: latencySummary(heat),
      trivial: latencySummary(trivial),
      /** HeatBridge's p99 minus the trivial bridge's, per round, ms. */
      p99OverTrivialMs: paired(heat, trivial, (h, t) => h.p99Ms - t.p99Ms),
      floorP50Ms: spread(floors.map((f) => f.p50Ms)),
      floorP99Ms: spread(floors.map((f) => f.p99Ms)),
      floorRuns: floors,
    };
  });
  const memory =
    raw.memory.default.length + raw.memory.recommended.length === 0
      ? undefined
      : {
          default: drainSummary(raw.memory.default),
          recommended: { settings: meta.recommendedRedis, ...drainSummary(raw.memory.recommended) },
        };
  const scale =
    raw.scale.two.length === 0
      ? undefined
      : {
          one: drainSummary(raw.scale.one),
          two: drainSummary(raw.scale.two),
          /** Two instances' drain rate over one's, per round. */
          speedup: paired(raw.scale.two, raw.scale.one, (t, o) => t.msgPerSec / o.msgPerSec),
        };
  // Peak RSS while draining at the default batch, one instance: every such drain, the worst counts.
  const defaultDrains = [...raw.drain.filter((r) => r.batch === 10), ...raw.memory.recommended];
  const peakRssMb = spread(defined(defaultDrains.map((r) => r.peakRssBytes)).map((b) => b / MB));
  const report = {
    meta,
    drain,
    ceiling,
    ratio,
    latency,
    memory,
    scale,
    cluster: clusterSummary(raw),
    peakRssMb,
    profiles,
    targets: [] as Target[],
  };
  report.targets = targets(report, raw);
  return report;
}

export type BenchReport = ReturnType<typeof buildReport>;

const by = (judged: number, limit: number, kind: Target['kind'], unit: string): string => {
  const over = judged - limit;
  const share = limit === 0 ? '' : ` (${Math.round((Math.abs(over) / Math.abs(limit)) * 100)}%)`;
  const digits = kind === 'ratio' ? 2 : 1;
  return `${over > 0 ? 'over' : 'short'} by ${round(Math.abs(over), digits)}${unit}${kind === 'difference' ? '' : share}`;
};

function targets(r: Omit<BenchReport, 'targets'>, raw: RawResults): Target[] {
  const out: Target[] = [];
  const atMost = (t: Omit<Target, 'met' | 'missedBy' | 'target'>, limit: number, unit = '') => {
    const met = t.judged.median <= limit;
    const sign = t.kind === 'difference' && limit > 0 ? '+' : '';
    out.push({
      ...t,
      target: `≤ ${sign}${limit}${unit}`,
      met,
      missedBy: met ? '' : by(t.judged.median, limit, t.kind, unit),
    });
  };
  const atLeast = (t: Omit<Target, 'met' | 'missedBy' | 'target'>, limit: number) => {
    const met = t.judged.median >= limit;
    out.push({ ...t, target: `≥ ${limit}`, met, missedBy: met ? '' : by(t.judged.median, limit, t.kind, '') });
  };
  const headline = r.drain.find((d) => d.batch === 10);
  if (headline !== undefined && r.ceiling !== undefined) {
    const ratio = r.ratio.find((q) => q.batch === 10);
    if (ratio !== undefined)
      atLeast(
        {
          figure: 'drain msg/s (P27_BATCH=10) / minimal ceiling msg/s',
          value: headline.msgPerSec,
          reference: r.ceiling.msgPerSec,
          judged: ratio.value,
          kind: 'ratio',
          digits: 0,
        },
        0.8,
      );
    atMost(
      {
        figure: 'service CPU per decision, µs / ceiling Redis CPU per decision, µs',
        value: headline.serviceCpuUsPerMsg,
        reference: r.ceiling.redisCpuUsPerMsg,
        judged: paired(headline.runs, raw.ceiling, (d, c) => {
          const [s, c0] = [serviceUs(d), redisUs(c)];
          return s === undefined || c0 === undefined ? undefined : s / c0;
        }),
        kind: 'ratio',
        digits: 1,
      },
      0.5,
    );
    atMost(
      {
        figure: 'drain Redis CPU per decision, µs / ceiling Redis CPU per decision, µs',
        value: headline.redisCpuUsPerMsg,
        reference: r.ceiling.redisCpuUsPerMsg,
        judged: paired(headline.runs, raw.ceiling, (d, c) => {
          const [x, y] = [redisUs(d), redisUs(c)];
          return x === undefined || y === undefined ? undefined : x / y;
        }),
        kind: 'ratio',
        digits: 1,
      },
      1.3,
    );
  }
  for (const l of r.latency) {
    if (l.trivial.runs.length > 0) {
      atMost(
        {
          figure: `p99 XADD → by_plan at ${l.rate} msg/s, ms: HeatBridge − trivial bridge`,
          value: l.heat.p99Ms,
          reference: l.trivial.p99Ms,
          judged: l.p99OverTrivialMs,
          kind: 'difference',
          digits: 2,
        },
        l.rate < 5000 ? 1 : 0,
        ' ms',
      );
    }
    atMost(
      {
        figure: `decisions lost at ${l.rate} msg/s (worst run)`,
        value: l.heat.lost,
        reference: l.trivial.runs.length > 0 ? l.trivial.lost : undefined,
        judged: spread([l.heat.lost.max]),
        kind: 'value',
        digits: 0,
      },
      0,
    );
  }
  if (r.peakRssMb.values.length > 0)
    atMost(
      {
        figure: 'service peak RSS while draining (P27_BATCH=10), MB, worst run',
        value: r.peakRssMb,
        reference: undefined,
        judged: spread([r.peakRssMb.max]),
        kind: 'value',
        digits: 1,
      },
      100,
      ' MB',
    );
  if (r.memory !== undefined) {
    const m = r.memory.recommended.bytesPerDecision;
    atMost(
      {
        figure: `Redis memory per decision, B (${r.memory.recommended.settings.join(' ')})`,
        value: m,
        reference: undefined,
        judged: m,
        kind: 'value',
        digits: 0,
      },
      1000,
      ' B',
    );
  }
  return out;
}

const fmt = (value: number, digits = 0): string =>
  Number.isFinite(value) ? round(value, digits).toLocaleString('en-US', { maximumFractionDigits: digits }) : '–';
const cell = (s: Spread, digits = 0): [string, string] =>
  s.values.length === 0
    ? ['–', '–']
    : [fmt(s.median, digits), s.values.length > 1 ? `${fmt(s.min, digits)} – ${fmt(s.max, digits)}` : '(1 run)'];

const range = (s: Spread, digits: number): string => {
  const [median, spreadText] = cell(s, digits);
  return spreadText === '(1 run)' || spreadText === '–' ? median : `${median} (${spreadText})`;
};

/** The issue's targets, each beside its reference: the headline table. */
export function targetTable(r: BenchReport): string {
  const lines = ['| Target | HeatBridge | Reference | Judged (per round) | Target | |', '|---|---:|---:|---:|---|---|'];
  for (const t of r.targets) {
    const value = t.kind === 'value' ? range(t.value, t.digits) : range(t.value, t.digits);
    const reference = t.reference === undefined ? '' : range(t.reference, t.digits);
    const judged = range(t.judged, t.kind === 'value' ? t.digits : 2);
    lines.push(
      `| ${t.figure} | ${value} | ${reference} | ${judged} | ${t.target} | ${t.met ? 'met' : `**missed**, ${t.missedBy}`} |`,
    );
  }
  const c = r.cluster;
  // Informational: the issue sets no target for the Cluster path, only that it is measured the same way.
  if (c !== undefined && r.ceiling !== undefined && c.overCeiling.values.length > 0) {
    lines.push(
      `| Cluster drain ÷ minimal ceiling, msg/s (${c.masters} masters, P27_BATCH=${c.batch}) | ${range(c.msgPerSec, 0)} | ` +
        `${range(r.ceiling.msgPerSec, 0)} | ${range(c.overCeiling, 2)} | none (informational) | |`,
    );
  }
  return lines.join('\n');
}

/** Every figure measured, median and range (the detail behind the targets). */
export function markdownTable(r: BenchReport): string {
  const rows: [string, string, string][] = [];
  const row = (figure: string, s: Spread, digits: number) => rows.push([figure, ...cell(s, digits)]);
  for (const d of r.drain) {
    const tag = d.batch === 10 ? ' (default)' : '';
    row(`drain, P27_BATCH=${d.batch}${tag}: msg/s${d.verified ? '' : ' — VERIFY FAILED'}`, d.msgPerSec, 0);
  }
  const c = r.ceiling;
  if (c !== undefined) {
    row(`minimal ceiling: msg/s${c.verified ? '' : ' — VERIFY FAILED'}`, c.msgPerSec, 0);
    row('minimal ceiling: Redis CPU per msg, µs', c.redisCpuUsPerMsg, 1);
    row('minimal ceiling: Redis command time per msg, µs', c.redisUsecPerMsg, 1);
    row('minimal ceiling: Redis CPU busy, share of one core', c.redisBusy, 2);
  }
  for (const q of r.ratio)
    if (q.value.values.length > 0) row(`drain / minimal ceiling, P27_BATCH=${q.batch}`, q.value, 2);
  for (const d of r.drain) {
    const b = `drain P27_BATCH=${d.batch}`;
    row(`${b}: service CPU per msg while draining, µs`, d.serviceCpuUsPerMsg, 1);
    row(`${b}: service CPU per msg, whole life (start-up included), µs`, d.serviceLifeCpuUsPerMsg, 1);
    row(`${b}: Redis CPU per msg, µs`, d.redisCpuUsPerMsg, 1);
    row(`${b}: Redis command time per msg, µs`, d.redisUsecPerMsg, 1);
    row(`${b}: service CPU busy, share of one core`, d.serviceBusy, 2);
    row(`${b}: Redis CPU busy, share of one core`, d.redisBusy, 2);
    row(`${b}: service peak RSS, MB`, d.peakRssMb, 1);
  }
  if (r.drain[0] !== undefined) row('drain: start-up (spawn → first delivery), ms', r.drain[0].startupMs, 0);
  for (const l of r.latency) {
    const at = `latency ${l.rate} msg/s${l.batch === 10 ? '' : ` (P27_BATCH=${l.batch})`}`;
    for (const [name, s] of [
      ['HeatBridge', l.heat],
      ['trivial bridge', l.trivial],
    ] as const) {
      if (s.runs.length === 0) continue;
      row(`${at}, ${name}: p50, ms`, s.p50Ms, 2);
      row(`${at}, ${name}: p99, ms`, s.p99Ms, 2);
      row(`${at}, ${name}: max, ms`, s.maxMs, 1);
      row(`${at}, ${name}: never arrived (of ${fmt(s.sent.median)})`, s.lost, 0);
      row(`${at}, ${name}: CPU, share of one core`, s.serviceCpuShare, 3);
    }
    if (l.floorP99Ms.values.length > 0) {
      row(`${at}: harness floor p50 (XADD → stream notification, no bridge), ms`, l.floorP50Ms, 2);
      row(`${at}: harness floor p99, ms`, l.floorP99Ms, 2);
    }
  }
  if (r.memory !== undefined) {
    const { default: d, recommended: rec } = r.memory;
    row('Redis bytes per decision, default settings', d.bytesPerDecision, 0);
    row(`Redis bytes per decision, ${rec.settings.join(' ')}`, rec.bytesPerDecision, 0);
    row(`by_plan hash (MEMORY USAGE), default: ${d.byPlanEncoding}`, d.byPlanBytes, 0);
    row(`by_plan hash (MEMORY USAGE), recommended: ${rec.byPlanEncoding}`, rec.byPlanBytes, 0);
    row('dedupe key (MEMORY USAGE)', rec.dedupeBytes, 0);
  }
  row('service peak RSS while draining (P27_BATCH=10), MB', r.peakRssMb, 1);
  if (r.scale !== undefined) {
    for (const [n, s] of [
      [1, r.scale.one],
      [2, r.scale.two],
    ] as const) {
      row(
        `scale-out, ${n} instance${n > 1 ? 's' : ''} on one Redis: drain msg/s${s.verified ? '' : ' — VERIFY FAILED'}`,
        s.msgPerSec,
        0,
      );
      row(`scale-out, ${n} instance${n > 1 ? 's' : ''}: Redis CPU busy, share of one core`, s.redisBusy, 2);
      row(`scale-out, ${n} instance${n > 1 ? 's' : ''}: services' CPU busy, share of one core (sum)`, s.serviceBusy, 2);
    }
    row('scale-out: 2 instances / 1 instance, msg/s', r.scale.speedup, 2);
    row(
      'scale-out, 2 instances: share of the entries the second one read (p27_in_messages_total)',
      spread(r.scale.two.runs.map((d) => (d.consumers.heat_bridge_2 ?? -1) / d.count)),
      2,
    );
  }
  const k = r.cluster;
  if (k !== undefined) {
    const at = `cluster drain, ${k.masters} masters, P27_BATCH=${k.batch}`;
    row(`${at}: msg/s${k.verified ? '' : ' — VERIFY FAILED'}`, k.msgPerSec, 0);
    row(`${at}: service CPU per msg while draining, µs`, k.serviceCpuUsPerMsg, 1);
    row(`${at}: Redis CPU per msg, ${k.masters} masters summed, µs`, k.redisCpuUsPerMsg, 1);
    row(`${at}: Redis CPU busy, ${k.masters} masters summed, share of one core`, k.redisBusy, 2);
    row(`${at}: service peak RSS, MB`, k.peakRssMb, 1);
    row(`${at}: start-up (spawn → first delivery), ms`, k.startupMs, 0);
    // Without the drain phase the paired standalone drain appears nowhere else.
    if (!r.drain.some((d) => d.batch === 10))
      row('standalone drain paired with the cluster drain, P27_BATCH=10: msg/s', k.standaloneMsgPerSec, 0);
    row('cluster drain / standalone drain (P27_BATCH=10), msg/s', k.overStandalone, 2);
    row('cluster drain / minimal ceiling, msg/s', k.overCeiling, 2);
    row('cluster drain / standalone drain, service CPU per msg', k.serviceCpuOverStandalone, 2);
    row('cluster drain / standalone drain, Redis CPU per msg', k.redisCpuOverStandalone, 2);
    row('cluster drain / minimal ceiling, Redis CPU per msg', k.redisCpuOverCeiling, 2);
  }
  const lines = ['| Figure | Median | Range |', '|---|---:|---:|'];
  for (const [figure, median, spreadText] of rows) lines.push(`| ${figure} | ${median} | ${spreadText} |`);
  return lines.join('\n');
}

export function targetLines(r: BenchReport): string[] {
  return r.targets.map(
    (t) =>
      `${t.met ? 'met   ' : 'MISSED'}  ${t.figure}: ${fmt(t.judged.median, t.kind === 'value' ? t.digits : 2)} ` +
      `(target ${t.target}${t.met ? '' : `; ${t.missedBy}`})`,
  );
}
