// `npm run bench`: drain, ceiling, latency, memory, scale-out and Cluster drain of HeatBridge against its own Redis;
// prints a markdown table and writes the JSON report (bench/results/latest.json by default).

import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { checkBuild } from './bridge-process.js';
import { type CeilingResult, runCeiling } from './ceiling.js';
import { type ClusterDrainResult, runClusterDrain } from './cluster.js';
import { type DrainResult, runDrain, type Verification } from './drain.js';
import { runFloor, runLatency } from './latency.js';
import { parseOptions, USAGE, UsageError } from './options.js';
import { type ProfileSummary, summarizeProfile } from './profile-summary.js';
import { buildReport, markdownTable, type RawResults, targetLines, targetTable } from './report.js';
import { stopAll } from './resources.js';
import { round } from './stats.js';

/**
 * What the README recommends: keep by_plan and latest hashes in the compact listpack encoding,
 * which a hash leaves for good once any value (debug_json here, 200–300 bytes) exceeds the
 * limit (default 64). 1024 leaves headroom for larger debug_json at no measurable CPU cost.
 */
export const RECOMMENDED_REDIS = ['--hash-max-listpack-value', '1024'] as const;

const PROFILE_FOCUS = [
  '#readNew',
  'read',
  'record',
  'consume',
  'decodeConsumeReply',
  'tallyConsumed',
  'exec',
  'sendCommand',
  'returnReply',
  'inc',
  'observe',
  'set',
];

const log = (message: string) => process.stderr.write(`bench: ${message}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function tryText(command: string, args: string[], fallback: string): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return fallback;
  }
}

function machine() {
  return {
    nproc: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: round(totalmem() / 1024 ** 3, 1),
    node: process.version,
    redis: /v=(\S+)/.exec(tryText('redis-server', ['--version'], ''))?.[1] ?? 'unknown',
    kernel: release(),
  };
}

/** HEAD, marked -dirty when src/ has uncommitted changes (the build measured is then not HEAD's). */
function commit(): string {
  const head = tryText('git', ['rev-parse', '--short', 'HEAD'], 'unknown');
  return tryText('git', ['status', '--porcelain', '--', 'src'], '') === '' ? head : `${head}-dirty`;
}

const okVerify = (v: Verification) => v.missing + v.wrongFields + v.latestWrong === 0;

const load = () => `load ${loadavg()[0]?.toFixed(1)}`;

const drainLine = (label: string, r: DrainResult) =>
  `${label}: ${fmt(r.msgPerSec)} msg/s (${r.seconds.toFixed(2)} s, start-up ${fmt(r.startupMs)} ms, ` +
  `${fmt(r.bytesPerDecision)} B/decision, rss ${fmt((r.peakRssBytes ?? 0) / 1024 / 1024)} MB` +
  `${r.verify.missing + r.verify.wrongFields + r.verify.latestWrong === 0 ? ', verified' : `, VERIFY FAILED ${JSON.stringify(r.verify)}`})`;

const perDecision = (cpuSec: number | undefined, n: number) =>
  cpuSec === undefined ? '?' : ((cpuSec * 1e6) / n).toFixed(1);

const clusterLine = (
  label: string,
  r: ClusterDrainResult,
  standalone: DrainResult,
  ceiling: CeilingResult | undefined,
) =>
  `${label} (${r.masters} masters, P27_BATCH=${r.batch}): ${fmt(r.msgPerSec)} msg/s (${r.seconds.toFixed(2)} s, ` +
  `start-up ${fmt(r.startupMs)} ms, service CPU ${perDecision(r.serviceDrainCpuSec, r.count)} µs/decision while draining, ` +
  `Redis CPU ${perDecision(r.redisCpuSec, r.count)} µs/decision over ${r.masters} masters, ` +
  `rss ${fmt((r.peakRssBytes ?? 0) / 1024 / 1024)} MB` +
  `${okVerify(r.verify) ? ', verified' : `, VERIFY FAILED ${JSON.stringify(r.verify)}`}); ` +
  `× ${(r.msgPerSec / standalone.msgPerSec).toFixed(2)} of the standalone drain (${fmt(standalone.msgPerSec)} msg/s)` +
  `${ceiling === undefined ? '' : `, × ${(r.msgPerSec / ceiling.msgPerSec).toFixed(2)} of the minimal ceiling (${fmt(ceiling.msgPerSec)} msg/s)`}`;

async function profileDrains(
  count: number,
  batches: readonly number[],
  root: string,
  cli: string | undefined,
): Promise<ProfileSummary[]> {
  const summaries: ProfileSummary[] = [];
  for (const batch of batches) {
    const dir = join(root, `batch-${batch}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const result = await runDrain({ count, batch, cpuProfDir: dir, cli });
    log(drainLine(`profiled drain P27_BATCH=${batch}`, result));
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error(`no CPU profile written to ${dir}`);
    summaries.push(summarizeProfile(join(dir, file), PROFILE_FOCUS));
  }
  return summaries;
}

function profileText(summaries: readonly ProfileSummary[]): string {
  const out: string[] = [];
  if (summaries.length > 0) {
    out.push(
      '',
      'V8 samples the main thread by wall clock: a native frame the OS switches away from (the socket',
      'write in writeUtf8String that wakes Redis) also collects the time spent waiting for a core.',
    );
  }
  for (const s of summaries) {
    out.push('', `Profile ${s.file}: ${fmt(s.busyMs)} ms busy, ${fmt(s.idleMs)} ms idle`);
    out.push(`  by package: ${s.selfByPackage.map((e) => `${e.name} ${e.percent}%`).join(', ')}`);
    out.push('  top self time:');
    for (const e of s.selfByFunction.slice(0, 12)) out.push(`    ${e.percent.toFixed(1).padStart(5)}%  ${e.name}`);
    out.push(`  inclusive: ${s.inclusive.map((e) => `${e.name} ${e.percent}%`).join(', ')}`);
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(USAGE);
    return;
  }
  const startedAt = new Date().toISOString();
  const loadAtStart = loadavg();
  // Taken before the runs: npm run bench has just built dist/ from this working tree.
  const measured = commit();
  const warnings: string[] = [];
  const stale = options.cli === undefined ? checkBuild() : undefined;
  if (stale !== undefined) {
    warnings.push(stale);
    log(`warning: ${stale}`);
  }
  const { count, runs, only, cli } = options;
  const raw: RawResults = {
    drain: [],
    ceiling: [],
    latency: [],
    floor: [],
    memory: { default: [], recommended: [] },
    scale: { one: [], two: [] },
    cluster: { standalone: [], cluster: [] },
  };
  // Rounds, not phases, on the outside: machine noise then hits every figure alike, and run i of
  // drain and of the ceiling are neighbours in time (their ratio is taken per round).
  for (let run = 1; run <= runs; run++) {
    const tag = `run ${run}/${runs}`;
    let defaultDrain: DrainResult | undefined;
    let ceiling: CeilingResult | undefined;
    if (only.includes('drain')) {
      for (const batch of options.batches) {
        const result = await runDrain({ count, batch, cli });
        if (batch === 10) defaultDrain = result;
        raw.drain.push(result);
        log(`${drainLine(`${tag} drain P27_BATCH=${batch}`, result)}, ${load()}`);
      }
    }
    if (only.includes('ceiling')) {
      const result = await runCeiling(count);
      ceiling = result;
      raw.ceiling.push(result);
      log(
        `${tag} minimal ceiling: ${fmt(result.msgPerSec)} msg/s, Redis CPU ` +
          `${result.redisCpuSec === undefined ? '?' : ((result.redisCpuSec * 1e6) / result.count).toFixed(1)} µs/decision ` +
          `(${result.errors} errors${okVerify(result.verify) ? ', verified' : `, VERIFY FAILED ${JSON.stringify(result.verify)}`}), ${load()}`,
      );
    }
    if (only.includes('cluster')) {
      // Next to this round's standalone drain and ceiling, so their ratios share the machine's noise.
      defaultDrain ??= await runDrain({ count, batch: 10, cli });
      raw.cluster.standalone.push(defaultDrain);
      const result = await runClusterDrain({ count, batch: 10, cli });
      raw.cluster.cluster.push(result);
      log(`${clusterLine(`${tag} cluster drain`, result, defaultDrain, ceiling)}, ${load()}`);
    }
    if (only.includes('latency')) {
      for (const rate of options.rates) {
        // HeatBridge and the trivial bridge back to back in the same round, on the same noise.
        for (const bridge of ['heat-bridge', 'trivial'] as const) {
          const r = await runLatency({
            rate,
            durationSec: options.durationSec,
            warmupSec: options.warmupSec,
            batch: options.latencyBatch,
            cli,
            bridge,
          });
          raw.latency.push(r);
          log(
            `${tag} latency ${rate} msg/s ${bridge}: p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ` +
              `max ${r.maxMs.toFixed(1)} ms, ${r.lost} of ${r.sent} never arrived, ${load()}`,
          );
        }
        // The floor runs alone, so its extra notifications do not load the measured runs.
        const floor = await runFloor({
          rate,
          durationSec: Math.min(options.durationSec, 5),
          warmupSec: options.warmupSec,
        });
        raw.floor.push(floor);
        log(`${tag} harness floor ${rate} msg/s: p99 ${floor.p99Ms.toFixed(2)} ms`);
      }
    }
    if (only.includes('memory')) {
      // The default-settings drain of this round already measured exactly this; do not run it twice.
      defaultDrain ??= await runDrain({ count, batch: 10, cli });
      raw.memory.default.push(defaultDrain);
      const recommended = await runDrain({ count, batch: 10, redisArgs: RECOMMENDED_REDIS, cli });
      raw.memory.recommended.push(recommended);
      log(
        `${tag} memory: ${fmt(defaultDrain.bytesPerDecision)} B/decision default, ${fmt(recommended.bytesPerDecision)} recommended, ` +
          `rss ${fmt((recommended.peakRssBytes ?? 0) / 1024 / 1024)} MB`,
      );
    }
    if (only.includes('scale')) {
      // One instance is the round's default drain; two share one Redis and one group, each its own consumer.
      defaultDrain ??= await runDrain({ count, batch: 10, cli });
      raw.scale.one.push(defaultDrain);
      const two = await runDrain({ count, batch: 10, cli, instances: 2 });
      raw.scale.two.push(two);
      log(
        `${drainLine(`${tag} scale-out 2 instances`, two)}, Redis CPU ${two.redisCpuSec === undefined ? '?' : (two.redisCpuSec / two.seconds).toFixed(2)} of a core, ${load()}`,
      );
    }
  }
  const profiles = options.profile
    ? await profileDrains(count, options.batches, join(dirname(options.out), 'profiles'), cli)
    : [];
  const report = buildReport(
    raw,
    {
      startedAt,
      finishedAt: new Date().toISOString(),
      commit: measured,
      loadAverage: { start: loadAtStart.map((l) => round(l, 2)), end: loadavg().map((l) => round(l, 2)) },
      machine: machine(),
      options: { ...options },
      recommendedRedis: RECOMMENDED_REDIS,
      warnings,
    },
    profiles,
  );
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
  const m = report.meta.machine;
  process.stdout.write(
    `\nHeatBridge bench: ${fmt(count)} decisions, ${runs} run(s), median and range\n` +
      `${m.nproc} × ${m.cpuModel}, ${m.memoryGb} GB, Node ${m.node}, Redis ${m.redis}, commit ${report.meta.commit}\n` +
      `load average (1 min) ${report.meta.loadAverage.start[0]} at start, ${report.meta.loadAverage.end[0]} at end\n\n` +
      `${targetTable(report)}\n\n${markdownTable(report)}\n\n${targetLines(report).join('\n')}\n${profileText(profiles)}\n\nJSON: ${options.out}\n`,
  );
  const unverified = [
    ...report.drain,
    ...(report.ceiling === undefined ? [] : [report.ceiling]),
    ...(report.scale === undefined ? [] : [report.scale.two]),
    ...(report.cluster === undefined ? [] : [report.cluster]),
  ].some((d) => !d.verified);
  if (unverified) {
    log('some keys were missing or wrong after a drain: see "verify" in the JSON');
    process.exitCode = 1;
  }
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(130);
    stopping = true;
    log(`${signal}: stopping every process the bench started`);
    void stopAll().then(() => process.exit(130));
  });
}

main().catch(async (error: unknown) => {
  await stopAll();
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  if (error instanceof UsageError) process.stderr.write(USAGE);
  process.exit(error instanceof UsageError ? 2 : 1);
});
