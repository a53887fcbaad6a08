// The benchmark at smoke size (1,000 decisions, one run, 2 s per load), so `npm run bench` keeps working.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BenchReport } from '../../bench/report.js';

const ROOT = new URL('../..', import.meta.url).pathname;
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
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGINT'), 150_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    assert.equal(code, 0, `bench exited with ${code}:\n${stderr.slice(-3000)}`);
    report = JSON.parse(readFileSync(out, 'utf8')) as BenchReport;
  });
  after(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('prints the markdown table with every figure', () => {
    assert.match(stdout, /^\| Figure \| Median \| Range \| Target \|$/m);
    for (const figure of [
      'drain, P27_BATCH=10',
      'ceiling',
      'latency 1000 msg/s: p99',
      'latency 5000 msg/s: p99',
      'peak RSS',
    ]) {
      assert.ok(stdout.includes(figure), `table lacks "${figure}"`);
    }
  });

  test('drains every decision at the default batch and verifies every key', () => {
    const drain = report.drain.find((d) => d.batch === 10);
    assert.ok(drain, 'no drain with P27_BATCH=10');
    positive(drain.msgPerSec.median, 'drain msg/s');
    assert.equal(drain.verified, true, JSON.stringify(drain.runs.map((r) => r.verify)));
    assert.equal(drain.runs[0]?.count, 1000);
  });

  test('measures the ceiling and the ratio against it', () => {
    assert.ok(report.ceiling, 'no ceiling section');
    positive(report.ceiling.msgPerSec.median, 'ceiling msg/s');
    assert.equal(report.ceiling.errors, 0);
    assert.equal(report.ceiling.verified, true);
    positive(report.ratio[0]?.value.median ?? 0, 'drain / ceiling');
    assert.ok(report.ceilingBatch, 'no apply-batch ceiling');
    positive(report.ceilingBatch.msgPerSec.median, 'apply-batch ceiling msg/s');
    assert.equal(report.ceilingBatch.errors, 0);
    assert.equal(report.ceilingBatch.verified, true);
  });

  test('measures latency at both offered loads with nothing lost', () => {
    assert.deepEqual(
      report.latency.map((l) => l.rate),
      [1000, 5000],
    );
    for (const l of report.latency) {
      positive(l.sent.median, `sent at ${l.rate}`);
      positive(l.p50Ms.median, `p50 at ${l.rate}`);
      positive(l.p99Ms.median, `p99 at ${l.rate}`);
      positive(l.maxMs.median, `max at ${l.rate}`);
      assert.equal(l.lost.max, 0, `lost at ${l.rate}`);
    }
  });

  test('measures Redis memory per decision with both settings, and the service RSS', () => {
    assert.ok(report.memory, 'no memory section');
    positive(report.memory.default.bytesPerDecision.median, 'default bytes per decision');
    positive(report.memory.recommended.bytesPerDecision.median, 'recommended bytes per decision');
    assert.equal(report.memory.default.byPlanEncoding, 'hashtable');
    assert.equal(report.memory.recommended.byPlanEncoding, 'listpack');
    positive(report.memory.peakRssMb.median, 'peak RSS');
  });
});
