// Issue 9 §4: a step of the wall clock (an NTP correction, a VM restore) changes nothing the service
// schedules. The service runs under libfaketime, which moves its wall clock only (the monotonic clock
// and Redis's own clock keep going), stepped while it runs.

import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { redisFixture } from '../support/bridge-fixture.js';
import { decision, flat } from '../support/decisions.js';
import { fetchHealth } from '../support/health-document.js';
import { sample } from '../support/metrics-text.js';
import type { ChildService } from '../support/service.js';
import { metricValue } from '../support/service.js';
import { byPlanKey as byPlan, GROUP, STREAM } from '../support/spec-contract.js';
import { tempDirFixture } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

describe('a wall clock that jumps', () => {
  before(() => {
    assert.ok(existsSync(LIBFAKETIME), `${LIBFAKETIME} is missing: apt-get install faketime`);
  });
  const fx = redisFixture();
  const dir = tempDirFixture('heat-bridge-clock-');

  /** Starts the service with a wall clock read from `file` ("+0", "-3600": seconds from real time). */
  async function startWithClock(file: string, env: Record<string, string>): Promise<ChildService> {
    writeFileSync(file, '+0\n');
    const child = await fx.startChildBridge({
      LD_PRELOAD: LIBFAKETIME,
      FAKETIME_TIMESTAMP_FILE: file,
      FAKETIME_NO_CACHE: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
      ...env,
    });
    await waitFor(async () => (await sample(child.metricsUrl, 'p27_loops_total')) >= 3, {
      what: 'the service running',
    });
    return child;
  }

  test('still takes over a dead consumer entries after the wall clock steps back one hour', async () => {
    const clock = join(dir, 'takeover');
    const bridge = await startWithClock(clock, { P27_CLAIM_IDLE_MS: '1000', P27_CLAIM_INTERVAL_MS: '500' });
    writeFileSync(clock, '-3600\n');
    const decisions = [decision(), decision(), decision()];
    const multi = fx.redis.multi();
    for (const d of decisions) multi.xadd(STREAM, '*', ...flat(d));
    multi.xreadgroup('GROUP', GROUP, 'dead_consumer', 'COUNT', 10, 'STREAMS', STREAM, '>');
    await multi.exec();

    await waitFor(
      async () => (await fx.redis.exists(...decisions.map((d) => byPlan(d.plan_id as string)))) === decisions.length,
      { what: 'the dead consumer entries taken over' },
    );
    assert.equal(await metricValue(bridge.metricsUrl, 'p27_claimed_total{result="claimed"}'), decisions.length);
  });

  test('/health does not see a stall when the wall clock steps forward one hour', async () => {
    const clock = join(dir, 'stall');
    // A long poll: the loop sits in one wait while the clock steps.
    const bridge = await startWithClock(clock, { P27_POLL_MS: '5000', P27_CONSUMER: 'clock_stall' });
    await waitFor(
      async () =>
        String(await fx.redis.client('LIST'))
          .split('\n')
          .some((l) => l.includes(' cmd=xread ') && l.includes(' name=heat-bridge:reader:clock_stall ')),
      { what: 'this service waiting for new entries (other tests share this Redis)' },
    );
    writeFileSync(clock, '+3600\n');
    const doc = await fetchHealth(bridge.healthUrl);
    assert.deepEqual([doc.status, doc.reasons], ['ok', []]);
  });

  test('/health leaves its degraded window on time when the wall clock steps back one hour', async () => {
    const clock = join(dir, 'window');
    const bridge = await startWithClock(clock, { P27_DEGRADED_WINDOW_MS: '1000' });
    await fx.redis.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    await waitFor(
      async () => {
        const doc = await fetchHealth(bridge.healthUrl);
        return doc.reasons.some((r) => r.startsWith('errors in the last'));
      },
      { what: 'the lost connections seen as errors' },
    );
    writeFileSync(clock, '-3600\n');
    await waitFor(async () => (await fetchHealth(bridge.healthUrl)).status === 'ok', {
      what: 'health ok once the 1 s window has passed',
    });
  });

  test('a service clock one hour behind never dead-letters valid decisions (ts_epoch is judged against arrival)', async () => {
    const clock = join(dir, 'behind');
    const stream = 'quantum:stream:clock-behind';
    const dlq = `${stream}.dlq`;
    await startWithClock(clock, { P27_STREAM_IN: stream, P27_DLQ_STREAM: dlq });
    writeFileSync(clock, '-3600\n');
    const now = Math.floor(Date.now() / 1000);
    const valid = decision({ ts_epoch: String(now) });
    const millis = decision({ ts_epoch: String(now * 1000) });
    await fx.redis.xadd(stream, '*', ...flat(valid));
    const millisId = (await fx.redis.xadd(stream, '*', ...flat(millis))) as string;
    await waitFor(async () => (await fx.redis.exists(byPlan(valid.plan_id as string))) === 1, {
      what: 'the valid decision applied',
    });
    await waitFor(async () => (await fx.redis.xlen(dlq)) === 1, { what: 'the millisecond ts_epoch still rejected' });
    const [[, fields]] = (await fx.redis.xrange(dlq, '-', '+')) as [[string, string[]]];
    assert.equal(fields[fields.indexOf('source_id') + 1], millisId);
    assert.match(fields[fields.indexOf('error') + 1] ?? '', /^invalid_ts_epoch: .*looks like milliseconds/);
  });
});
