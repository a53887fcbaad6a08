// `heat-bridge dlq purge`: all, by id, or older than a bound; asks on a terminal, refuses without one unless --yes.

import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { redisFixture } from '../support/bridge-fixture.js';
import { deadLetter, decision } from '../support/decisions.js';
import { runCli } from '../support/run-process.js';
import { DLQ } from '../support/spec-contract.js';
import { cliArgv, openTerminal } from '../support/terminal.js';

describe('heat-bridge dlq purge', () => {
  const fx = redisFixture();
  beforeEach(async () => {
    await fx.redis.del(DLQ);
  });

  const dlqIds = async () => (await fx.redis.xrange(DLQ, '-', '+')).map(([id]) => id);
  /** Dead letters with explicit ids, so their age is known: ms since the epoch. */
  const deadLetters = async (...ms: number[]) => {
    for (const t of ms) await fx.redis.xadd(DLQ, `${t}-0`, ...deadLetter(decision({}), 'x', '1-0'));
    return ms.map((t) => `${t}-0`);
  };

  test('without a terminal and without --yes refuses with exit 2 and deletes nothing', async () => {
    const ids = await deadLetters(1000, 2000);
    const result = await runCli(['dlq', 'purge', '--all'], fx.server.env);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /^heat-bridge dlq: would delete 2 entries: confirm on a terminal or pass --yes; nothing deleted\n/,
    );
    assert.deepEqual(await dlqIds(), ids);
  });

  test('--all --yes deletes every entry and lists each', async () => {
    const ids = await deadLetters(1000, 2000, 3000);
    const result = await runCli(['dlq', 'purge', '--all', '--yes', '--json'], fx.server.env);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      result.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
      ids.map((dlq_id) => ({ dlq_id, outcome: 'purged' })),
    );
    assert.equal(result.stderr, `purged 3 entries from ${DLQ}\n`);
    assert.deepEqual(await dlqIds(), []);
  });

  test('--id deletes only those entries; an id that is not there deletes nothing', async () => {
    const [a, b, c] = (await deadLetters(1000, 2000, 3000)) as [string, string, string];
    const missing = await runCli(['dlq', 'purge', '--id', a, '--id', '9-9', '--yes'], fx.server.env);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, `heat-bridge dlq: no entry 9-9 in ${DLQ}; nothing purged\n`);
    assert.deepEqual(await dlqIds(), [a, b, c]);
    const result = await runCli(['dlq', 'purge', '--id', a, '--id', c, '--yes'], fx.server.env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `dlq_id=${a} purged\ndlq_id=${c} purged\n`);
    assert.deepEqual(await dlqIds(), [b]);
  });

  test('--before an age, a time or a stream id deletes only the older entries', async () => {
    const now = Date.now();
    const [epoch, old, recent] = (await deadLetters(1000, now - 3 * 86_400_000, now - 60_000)) as [
      string,
      string,
      string,
    ];
    const byTime = await runCli(['dlq', 'purge', '--before', '1970-01-01T00:00:01.500Z', '--yes'], fx.server.env);
    assert.equal(byTime.code, 0, byTime.stderr);
    assert.equal(byTime.stdout, `dlq_id=${epoch} purged\n`);
    assert.deepEqual(await dlqIds(), [old, recent]);

    const byAge = await runCli(['dlq', 'purge', '--before', '2d', '--yes'], fx.server.env);
    assert.equal(byAge.code, 0, byAge.stderr);
    assert.deepEqual(await dlqIds(), [recent]);

    const byId = await runCli(['dlq', 'purge', '--before', recent, '--yes'], fx.server.env);
    assert.equal(byId.code, 0, byId.stderr);
    assert.equal(byId.stderr, `nothing to purge in ${DLQ}\n`);
    assert.deepEqual(await dlqIds(), [recent]);
  });

  test('--dry-run lists what it would delete and deletes nothing, even with --yes', async () => {
    const ids = await deadLetters(1000, 2000);
    const result = await runCli(['dlq', 'purge', '--all', '--dry-run', '--yes'], fx.server.env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, ids.map((id) => `dlq_id=${id} would be purged\n`).join(''));
    assert.equal(result.stderr, `dry run: would purge 2 entries from ${DLQ}; nothing deleted\n`);
    assert.deepEqual(await dlqIds(), ids);
  });

  test('rejects a bad --before, two selections, and purge flags on replay or list, with exit 2', async () => {
    for (const args of [
      ['dlq', 'purge', '--before', 'yesterday'],
      ['dlq', 'purge', '--all', '--before', '1d'],
      ['dlq', 'purge'],
      ['dlq', 'replay', '--all', '--yes'],
      ['dlq', 'list', '--dry-run'],
    ]) {
      const result = await runCli(args, fx.server.env);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /Try heat-bridge dlq --help/);
    }
  });

  test('on a terminal asks first: no keeps every entry, yes deletes them', async () => {
    const ids = await deadLetters(1000, 2000);
    const declined = await openTerminal(cliArgv(['dlq', 'purge', '--all']), fx.server.env);
    try {
      await declined.waitForScreen(/Delete 2 entries from .*dlq for good\? \[y\/N\]/);
      await declined.send('n', 'Enter');
      assert.equal(await declined.exitCode(), 1);
      assert.match(await declined.screen(), /not confirmed; nothing deleted/);
    } finally {
      await declined.close();
    }
    assert.deepEqual(await dlqIds(), ids);

    const accepted = await openTerminal(cliArgv(['dlq', 'purge', '--all']), fx.server.env);
    try {
      await accepted.waitForScreen(/\[y\/N\]/);
      await accepted.send('y', 'Enter');
      assert.equal(await accepted.exitCode(), 0);
      assert.match(await accepted.screen(), /purged 2 entries from/);
    } finally {
      await accepted.close();
    }
    assert.deepEqual(await dlqIds(), []);
  });
});
