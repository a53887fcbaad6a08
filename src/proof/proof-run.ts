// The spec's proof tests A–E against a running HeatBridge: inject through Redis, then read keys, metrics, health.

import { setTimeout as sleep } from 'node:timers/promises';
import { DECISION_FIELDS } from '../decision.js';
import type { RedisClient } from '../redis/connection.js';
import { byPlanKey, checkIdentifier, type KeySafe, latestKey, latestPlanIdKey } from '../redis/keys.js';
import {
  type CheckResult,
  checkLine,
  headerLines,
  type ProofTest,
  sectionLine,
  summaryLines,
  waitingLine,
} from './proof-report.js';

export interface ProofTarget {
  readonly redis: RedisClient;
  readonly stream: string;
  readonly metricsUrl: string;
  readonly healthUrl: string;
  readonly ttlPlanSec: number;
  /** A symbol of its own, so the proof never moves the latest decision of a traded symbol. */
  readonly symbol: KeySafe;
  readonly timeoutSec: number;
  /** Receives the report as it is produced, in the spec's format. */
  readonly write: (text: string) => void;
}

const POLL_MS = 100;

async function until(deadline: number, probe: () => Promise<boolean>): Promise<boolean> {
  for (;;) {
    try {
      if (await probe()) return true;
    } catch {
      // Not there yet (or Redis/HTTP hiccup): ask again until the deadline.
    }
    if (performance.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
}

async function fetchText(url: string): Promise<string | null> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return response.ok || response.status === 503 ? await response.text() : null;
  } catch {
    return null;
  }
}

/** The value of an unlabelled sample in Prometheus text, or null. */
export function sampleValue(metrics: string, name: string): number | null {
  for (const line of metrics.split('\n')) {
    if (line.startsWith(`${name} `)) return Number(line.slice(name.length + 1));
  }
  return null;
}

function planId(test: string, nowSec: number): KeySafe {
  const check = checkIdentifier(`test_${test}_${nowSec}_${process.pid}`);
  if (!check.ok) throw new Error('generated plan_id is not key-safe');
  return check.value;
}

/** Runs A–E, writing the report as it goes; resolves with every check's result. */
export async function runProof(t: ProofTarget): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const check = (test: ProofTest, ok: boolean, message: string) => {
    const result = { test, ok, message };
    results.push(result);
    t.write(checkLine(result));
  };
  const deadline = () => performance.now() + t.timeoutSec * 1000;
  // Every decision carries the current second: with equal ts_epoch the later stream entry wins, so
  // this run's decisions are newer than any earlier run's, and C is newer than A.
  const nowSec = Math.floor(Date.now() / 1000);
  const planA = planId('a', nowSec);
  const planC = planId('c', nowSec);
  const decisionA: Record<string, string> = {
    ts_epoch: String(nowSec),
    symbol: t.symbol,
    plan_id: planA,
    in_action: 'FULL_CLOSE_PROPOSED',
    out_action: 'PARTIAL_50_PROPOSED',
    heat_level: 'warm',
    heat_score: '0.5',
    heat_action: 'DOWNGRADE_FULL_TO_PARTIAL',
    recommended_partial: '0.5',
    reason: 'proof',
    inputs_age_sec: '',
    mode: 'shadow',
    debug_json: '{"source":"heat-bridge proof"}',
  };
  const xadd = (fields: Record<string, string>) =>
    t.redis.xadd(t.stream, '*', ...DECISION_FIELDS.flatMap((f) => [f, fields[f] ?? '']));
  const pointer = () => t.redis.get(latestPlanIdKey(t.symbol));

  t.write(headerLines());

  t.write(sectionLine('A'));
  await xadd(decisionA);
  t.write(waitingLine(t.timeoutSec));
  await until(deadline(), async () => (await pointer()) === planA);
  const stored = await t.redis.hgetall(byPlanKey(planA));
  const wrong = DECISION_FIELDS.filter((f) => stored[f] !== decisionA[f]);
  check(
    'A',
    wrong.length === 0,
    wrong.length === 0
      ? 'by_plan key created with correct fields'
      : Object.keys(stored).length === 0
        ? `by_plan key ${byPlanKey(planA)} not created`
        : `by_plan key has wrong or missing fields: ${wrong.join(', ')}`,
  );
  const ttl = await t.redis.ttl(byPlanKey(planA));
  check(
    'A',
    ttl > 0 && ttl <= t.ttlPlanSec,
    ttl > 0 && ttl <= t.ttlPlanSec
      ? `by_plan key has TTL=${ttl}`
      : `by_plan key TTL=${ttl}, expected 1..${t.ttlPlanSec}`,
  );
  const lastA = await t.redis.hget(latestKey(t.symbol), 'last_plan_id');
  check(
    'A',
    lastA === planA,
    `latest_symbol key ${lastA === planA ? 'created' : 'NOT updated'} with last_plan_id=${lastA ?? '(none)'}`,
  );
  const pointerA = await pointer();
  check(
    'A',
    pointerA === planA,
    `latest_plan_id pointer ${pointerA === planA ? 'created' : 'wrong'} with value=${pointerA ?? '(none)'}`,
  );

  t.write(sectionLine('B'));
  const skipsBefore = sampleValue((await fetchText(t.metricsUrl)) ?? '', 'p27_dedupe_skips_total');
  if (skipsBefore === null) {
    check('B', false, `cannot read p27_dedupe_skips_total from ${t.metricsUrl}`);
  } else {
    await xadd({ ...decisionA, heat_level: 'hot', heat_score: '0.9' });
    t.write(waitingLine(t.timeoutSec));
    let skips = skipsBefore;
    await until(deadline(), async () => {
      skips = sampleValue((await fetchText(t.metricsUrl)) ?? '', 'p27_dedupe_skips_total') ?? skips;
      return skips > skipsBefore;
    });
    const level = await t.redis.hget(byPlanKey(planA), 'heat_level');
    if (skips <= skipsBefore) check('B', false, `duplicate not skipped (p27_dedupe_skips_total=${skips})`);
    else if (level !== 'warm') check('B', false, `duplicate rewrote by_plan (heat_level=${level ?? '(none)'})`);
    else check('B', true, `Deduplication working (p27_dedupe_skips_total=${skips})`);
  }

  t.write(sectionLine('C'));
  await xadd({
    ...decisionA,
    plan_id: planC,
    heat_level: 'cold',
    heat_score: '0.2',
    heat_action: 'NONE',
    out_action: 'FULL_CLOSE_PROPOSED',
    recommended_partial: '',
  });
  t.write(waitingLine(t.timeoutSec));
  await until(deadline(), async () => (await pointer()) === planC);
  const pointerC = await pointer();
  check(
    'C',
    pointerC === planC,
    pointerC === planC
      ? `latest_plan_id pointer updated to new plan_id=${planC}`
      : `latest_plan_id pointer is ${pointerC ?? '(none)'}, expected ${planC}`,
  );
  const lastC = await t.redis.hget(latestKey(t.symbol), 'last_plan_id');
  check(
    'C',
    lastC === planC,
    lastC === planC
      ? `latest_symbol key updated with last_plan_id=${planC}`
      : `latest_symbol key has last_plan_id=${lastC ?? '(none)'}, expected ${planC}`,
  );

  t.write(sectionLine('D'));
  const metrics = await fetchText(t.metricsUrl);
  const inMessages = metrics === null ? null : sampleValue(metrics, 'p27_in_messages_total');
  check(
    'D',
    inMessages !== null && inMessages > 0,
    metrics === null
      ? `Metrics endpoint not reachable at ${t.metricsUrl}`
      : `Metrics available (p27_in_messages_total=${inMessages ?? '(missing)'})`,
  );
  const written = metrics?.split('\n').some((line) => line.startsWith('p27_written_total{')) ?? false;
  check('D', written, written ? 'p27_written_total metric found' : 'p27_written_total metric not found');

  t.write(sectionLine('E'));
  const health = await fetchText(t.healthUrl);
  let status: string | null = null;
  try {
    status = health === null ? null : String((JSON.parse(health) as { status?: unknown }).status);
  } catch {
    status = 'unparseable';
  }
  check(
    'E',
    status === 'ok',
    status === null
      ? `Health endpoint not reachable at ${t.healthUrl}`
      : `Health endpoint responds with status=${status}`,
  );

  t.write(summaryLines(results));
  return results;
}
