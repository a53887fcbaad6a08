// Fault injection: FLUSHALL under a running service (stream, group and keys gone at once).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { childBridgeFixture } from '../support/bridge-fixture.js';
import { decision, flat } from '../support/decisions.js';
import { sample } from '../support/metrics-text.js';
import type { LogLine } from '../support/service.js';
import { STREAM } from '../support/spec-contract.js';
import { drained, groupInfo } from '../support/stream-group.js';
import { missingKeys } from '../support/stream-writes.js';
import { waitFor } from '../support/wait-for.js';

const FLUSHES = 3;
// pino's numeric levels: 40 warn, 50 error, 60 fatal.
const isWarnOrWorse = (line: LogLine) => (line.level ?? 0) >= 40;

describe('FLUSHALL while running', () => {
  const fx = childBridgeFixture();

  const missing = (planIds: readonly string[]) => missingKeys(fx.redis, planIds);

  test('recreates the group after each FLUSHALL under load and bridges every later entry, without a log storm', async (t) => {
    // One connection for the load and the FLUSHALLs, so "added after the flush" is exact.
    let sinceFlush: string[] = [];
    let running = true;
    const load = (async () => {
      while (running) {
        const d = decision();
        sinceFlush.push(d.plan_id as string);
        await fx.redis.xadd(STREAM, '*', ...flat(d));
        // Pacing of a steady load, not a wait for a condition.
        await sleep(5);
      }
    })();

    try {
      await waitFor(async () => sinceFlush.length >= 50 && (await missing(sinceFlush.slice(0, 50))).length === 0, {
        what: 'the service bridging the load',
      });
      const logsBefore = fx.bridge.logs.length;
      for (let i = 0; i < FLUSHES; i++) {
        const flushed = fx.redis.flushall();
        sinceFlush = [];
        await flushed;
        await waitFor(async () => (await groupInfo(fx.redis)) !== undefined, {
          what: `group recreated after flush ${i}`,
        });
        await waitFor(async () => sinceFlush.length >= 50 && (await missing(sinceFlush.slice(0, 50))).length === 0, {
          what: `entries flowing after flush ${i}`,
        });
      }
      running = false;
      await load;
      await waitFor(async () => (await missing(sinceFlush)).length === 0 && (await drained(fx.redis)), {
        what: 'every entry added after the last FLUSHALL bridged',
      });

      // Let the loop turn a while longer: a storm would show up as warnings that keep coming.
      const loops = await sample(fx.bridge.metricsUrl, 'p27_loops_total');
      await waitFor(async () => (await sample(fx.bridge.metricsUrl, 'p27_loops_total')) >= loops + 10, {
        what: 'ten more loop turns',
      });
      const warnings = fx.bridge.logs.slice(logsBefore).filter(isWarnOrWorse);
      t.diagnostic(`${warnings.length} warnings over ${FLUSHES} flushes: ${warnings.map((l) => l.msg).join(' | ')}`);
      assert.ok(
        warnings.length <= 2 * FLUSHES,
        `${warnings.length} warnings: ${JSON.stringify(warnings.slice(0, 10))}`,
      );
      assert.equal(fx.bridge.child.exitCode, null);
    } finally {
      running = false;
      await load;
    }
  });
});
