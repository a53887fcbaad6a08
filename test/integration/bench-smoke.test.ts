// The benchmark at smoke size (1,000 decisions, one run, 2 s per load), so `npm run bench` keeps working;
// no timing asserts: the figures must exist, be positive and verified, and every reference must be measured.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BenchReport } from '../../bench/report.js';
import { cleanEnv, ROOT } from '../support/run-process.js';

const positive = (value: number, what: string) => assert.ok(Number.isFinite(value) && value > 0, `${what} = ${value}`);

describe('bench smoke run', () => {
  let dir: string;
  let report: BenchReport;
  let stdout = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'heat-bridge-bench-'));
    const out = join(dir, 'smoke.json');
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', out], {
      cwd: ROOT,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGINT'), 240_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    assert.equal(code, 0, `bench exited with ${code}:\n${stderr.slice(-3000)}`);
    report = JSON.parse(readFileSync(out, 'utf8')) as BenchReport;
  });
  after(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('prints the target table, each target beside its reference, and every figure', () => {
    assert.match(stdout, /^\| Target \| HeatBridge \| Reference \| Judged \(per round\) \| Target \| \|$/m);
    assert.match(stdout, /^\| Figure \| Median \| Range \|$/m);
    for (const figure of [
      'drain, P27_BATCH=10',
      'minimal ceiling: msg/s',
      'minimal ceiling: Redis CPU per msg',
      'latency 100 msg/s, HeatBridge: p99',
      'latency 100 msg/s, trivial bridge: p99',
      'latency 1000 msg/s, trivial bridge: p99',
      'latency 5000 msg/s, trivial bridge: p99',
      'scale-out, 2 instances on one Redis: drain msg/s',
      'cluster drain, 3 masters, P27_BATCH=10: msg/s',
      'cluster drain, 3 masters, P27_BATCH=10: Redis CPU per msg, 3 masters summed',
      'cluster drain / standalone drain (P27_BATCH=10), msg/s',
      'cluster drain / minimal ceiling, msg/s',
      '| Cluster drain ÷ minimal ceiling, msg/s (3 masters, P27_BATCH=10) |',
      'peak RSS',
    ]) {
      assert.ok(stdout.includes(figure), `table lacks "${figure}"`);
    }
    // One verdict line per target, met or MISSED with by how much.
    assert.equal(stdout.match(/^(?:met {3}|MISSED) {2}/gm)?.length, report.targets.length);
  });

  test('judges every target of the issue, with a reference where the issue names one', () => {
    const figures = report.targets.map((t) => t.figure);
    for (const part of [
      'minimal ceiling msg/s',
      'service CPU per decision',
      'drain Redis CPU per decision',
      'p99 XADD → by_plan at 100 msg/s',
      'p99 XADD → by_plan at 1000 msg/s',
      'p99 XADD → by_plan at 5000 msg/s',
      'lost at 5000 msg/s',
      'peak RSS',
      'Redis memory per decision',
    ]) {
      assert.ok(
        figures.some((f) => f.includes(part)),
        `no target "${part}" in ${JSON.stringify(figures)}`,
      );
    }
    for (const t of report.targets) {
      assert.ok(Number.isFinite(t.judged.median), `${t.figure}: judged ${t.judged.median}`);
      // A reference is measured (positive) except a count of losses, where 0 is the expected reading.
      if (t.reference !== undefined && t.kind !== 'value') positive(t.reference.median, `${t.figure}: reference`);
      assert.equal(t.met, t.missedBy === '', `${t.figure}: met ${t.met} but missedBy "${t.missedBy}"`);
    }
  });

  test('drains every decision at the default batch and verifies every key', () => {
    const drain = report.drain.find((d) => d.batch === 10);
    assert.ok(drain, 'no drain with P27_BATCH=10');
    positive(drain.msgPerSec.median, 'drain msg/s');
    positive(drain.serviceCpuUsPerMsg.median, 'service CPU per decision');
    assert.equal(drain.verified, true, JSON.stringify(drain.runs.map((r) => r.verify)));
    assert.equal(drain.runs[0]?.count, 1000);
  });

  test('runs the minimal ceiling over the same backlog, verified, and the ratio against it', () => {
    assert.ok(report.ceiling, 'no ceiling section');
    positive(report.ceiling.msgPerSec.median, 'ceiling msg/s');
    positive(report.ceiling.redisCpuUsPerMsg.median, 'ceiling Redis CPU per decision');
    assert.equal(report.ceiling.errors, 0);
    assert.equal(report.ceiling.verified, true, JSON.stringify(report.ceiling.runs.map((r) => r.verify)));
    assert.equal(report.ceiling.runs[0]?.count, 1000);
    positive(report.ratio[0]?.value.median ?? 0, 'drain / ceiling');
  });

  test('measures HeatBridge and the trivial bridge at 100, 1,000 and 5,000 msg/s with nothing lost', () => {
    assert.deepEqual(
      report.latency.map((l) => l.rate),
      [100, 1000, 5000],
    );
    for (const l of report.latency) {
      for (const [name, s] of [
        ['HeatBridge', l.heat],
        ['trivial bridge', l.trivial],
      ] as const) {
        assert.equal(s.runs.length, 1, `${name} at ${l.rate}: runs`);
        positive(s.sent.median, `${name}: sent at ${l.rate}`);
        positive(s.p50Ms.median, `${name}: p50 at ${l.rate}`);
        positive(s.p99Ms.median, `${name}: p99 at ${l.rate}`);
        assert.equal(s.lost.max, 0, `${name}: lost at ${l.rate}`);
      }
      assert.ok(Number.isFinite(l.p99OverTrivialMs.median), `p99 difference at ${l.rate}`);
    }
  });

  test('measures Redis memory per decision with both settings, and the service RSS', () => {
    assert.ok(report.memory, 'no memory section');
    positive(report.memory.default.bytesPerDecision.median, 'default bytes per decision');
    positive(report.memory.recommended.bytesPerDecision.median, 'recommended bytes per decision');
    assert.equal(report.memory.default.byPlanEncoding, 'hashtable');
    assert.equal(report.memory.recommended.byPlanEncoding, 'listpack');
    positive(report.peakRssMb.median, 'peak RSS');
  });

  test('scales out: two instances in one group drain everything, verified, both reporting', () => {
    assert.ok(report.scale, 'no scale-out section');
    const two = report.scale.two.runs[0];
    assert.ok(two, 'no two-instance drain');
    assert.equal(two.instances, 2);
    assert.equal(report.scale.two.verified, true, JSON.stringify(two.verify));
    positive(report.scale.two.msgPerSec.median, 'two instances msg/s');
    positive(report.scale.two.redisBusy.median, 'two instances Redis CPU share');
    positive(report.scale.speedup.median, '2 / 1 instances');
    // At smoke size the first instance may drain all 1,000 before the second is up: both must report,
    // and together they read every entry.
    assert.deepEqual(Object.keys(two.consumers).sort(), ['heat_bridge_1', 'heat_bridge_2']);
    const readings = Object.values(two.consumers);
    assert.ok(
      readings.every((n) => n >= 0),
      JSON.stringify(two.consumers),
    );
    assert.ok(readings.reduce((a, n) => a + n, 0) >= 1000, JSON.stringify(two.consumers));
  });

  test('drains the same backlog on a 3-master Redis Cluster, verified, beside the standalone drain and the ceiling', () => {
    const cluster = report.cluster;
    assert.ok(cluster, 'no cluster section');
    const run = cluster.runs[0];
    assert.ok(run, 'no cluster drain');
    assert.equal(cluster.runs.length, 1);
    assert.equal(run.count, 1000);
    assert.equal(run.masters, 3);
    assert.equal(Object.keys(run.redisCpuSecByMaster).length, 3, JSON.stringify(run.redisCpuSecByMaster));
    assert.equal(cluster.verified, true, JSON.stringify(run.verify));
    assert.equal(run.verify.missing, 0);
    positive(cluster.msgPerSec.median, 'cluster drain msg/s');
    positive(cluster.serviceCpuUsPerMsg.median, 'cluster service CPU per decision');
    positive(cluster.redisCpuUsPerMsg.median, 'cluster Redis CPU per decision (3 masters)');
    positive(cluster.peakRssMb.median, 'cluster peak RSS');
    positive(cluster.overStandalone.median, 'cluster / standalone drain');
    positive(cluster.overCeiling.median, 'cluster / minimal ceiling');
    // Paired with the same round's standalone drain at the default batch.
    const standalone = report.drain.find((d) => d.batch === 10)?.runs[0];
    assert.ok(standalone, 'no standalone drain with P27_BATCH=10');
    assert.equal(cluster.overStandalone.median, run.msgPerSec / standalone.msgPerSec);
  });
});
