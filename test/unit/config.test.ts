// loadConfig: the spec's defaults, one problem line per bad variable, REDIS_URL parsing.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { DLQ, GROUP, STREAM } from '../support/spec-contract.js';

/** Runs loadConfig expecting a ConfigError and returns its problem lines. */
function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.name, 'ConfigError');
    return error.problems;
  }
  assert.fail(`expected loadConfig to reject ${JSON.stringify(env)}`);
}

/** Runs loadConfig expecting a ConfigError and returns its message. */
function messageOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.message;
  }
  assert.fail(`expected loadConfig to reject ${JSON.stringify(env)}`);
}

describe('loadConfig defaults', () => {
  test('uses every default of the spec when the environment is empty', () => {
    const config = loadConfig({});
    assert.deepEqual(config.redis, {
      topology: { kind: 'standalone' },
      host: 'localhost',
      port: 6379,
      tls: false,
      username: undefined,
      password: undefined,
      db: 0,
    });
    assert.equal(config.stream, STREAM);
    assert.equal(config.group, GROUP);
    assert.equal(config.consumer, 'heat_bridge_1');
    assert.equal(config.groupStartId, '0');
    assert.equal(config.pollMs, 500);
    assert.equal(config.batch, 10);
    assert.equal(config.ttlPlanSec, 1800);
    assert.equal(config.ttlSymbolSec, 1800);
    assert.equal(config.dedupeTtlSec, 120);
    assert.equal(config.metricsPort, 8070);
    assert.equal(config.healthPort, 8071);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.httpHost, '127.0.0.1');
  });

  test('uses the defaults of the additional variables when they are unset', () => {
    const config = loadConfig({});
    assert.equal(config.claimIntervalMs, 30_000);
    assert.equal(config.claimIdleMs, 60_000);
    assert.equal(config.dlqStream, DLQ);
    assert.equal(config.dlqMaxLen, 10_000);
    assert.equal(config.maxDeliveries, 5);
    assert.equal(config.maxFieldBytes, 65_536);
    assert.equal(config.degradedWindowMs, 60_000);
  });

  test('treats an empty value like an unset one and falls back to the default', () => {
    const config = loadConfig({ P27_BATCH: '', P27_GROUP: '', REDIS_PORT: '' });
    assert.equal(config.batch, 10);
    assert.equal(config.group, GROUP);
    assert.equal(config.redis.port, 6379);
  });

  test('ignores variables it does not know', () => {
    const config = loadConfig({ PATH: '/usr/bin', HOME: '/root', P27_SOMETHING_ELSE: 'x' });
    assert.equal(config.batch, 10);
  });
});

describe('loadConfig with values set', () => {
  test('reads every variable of the spec when they are set', () => {
    const config = loadConfig({
      REDIS_HOST: 'redis.internal',
      REDIS_PORT: '6380',
      P27_STREAM_IN: 'quantum:stream:other',
      P27_GROUP: 'g2',
      P27_CONSUMER: 'c2',
      P27_POLL_MS: '250',
      P27_BATCH: '50',
      P27_TTL_PLAN_SEC: '900',
      P27_TTL_SYMBOL_SEC: '600',
      P27_DEDUPE_TTL_SEC: '60',
      P27_METRICS_PORT: '9100',
      P27_HEALTH_PORT: '9101',
      P27_LOG_LEVEL: 'ERROR',
      P27_HTTP_HOST: '0.0.0.0',
      P27_GROUP_START_ID: '$',
    });
    assert.equal(config.redis.host, 'redis.internal');
    assert.equal(config.redis.port, 6380);
    assert.equal(config.stream, 'quantum:stream:other');
    assert.equal(config.group, 'g2');
    assert.equal(config.consumer, 'c2');
    assert.equal(config.pollMs, 250);
    assert.equal(config.batch, 50);
    assert.equal(config.ttlPlanSec, 900);
    assert.equal(config.ttlSymbolSec, 600);
    assert.equal(config.dedupeTtlSec, 60);
    assert.equal(config.metricsPort, 9100);
    assert.equal(config.healthPort, 9101);
    assert.equal(config.logLevel, 'error');
    assert.equal(config.httpHost, '0.0.0.0');
    assert.equal(config.groupStartId, '$');
  });

  test('accepts a stream id as the group start id', () => {
    assert.equal(loadConfig({ P27_GROUP_START_ID: '1735689600000-0' }).groupStartId, '1735689600000-0');
    assert.equal(loadConfig({ P27_GROUP_START_ID: '1735689600000' }).groupStartId, '1735689600000');
  });

  test('maps the log level case-insensitively, WARNING and warn both to warn', () => {
    assert.equal(loadConfig({ P27_LOG_LEVEL: 'WARNING' }).logLevel, 'warn');
    assert.equal(loadConfig({ P27_LOG_LEVEL: 'warning' }).logLevel, 'warn');
    assert.equal(loadConfig({ P27_LOG_LEVEL: 'warn' }).logLevel, 'warn');
    assert.equal(loadConfig({ P27_LOG_LEVEL: 'WARN' }).logLevel, 'warn');
    assert.equal(loadConfig({ P27_LOG_LEVEL: 'Debug' }).logLevel, 'debug');
    assert.equal(loadConfig({ P27_LOG_LEVEL: 'info' }).logLevel, 'info');
    assert.equal(loadConfig({ P27_LOG_LEVEL: 'Error' }).logLevel, 'error');
  });

  test('accepts the bounds of a port, 1 and 65535', () => {
    const config = loadConfig({ P27_METRICS_PORT: '1', P27_HEALTH_PORT: '65535' });
    assert.equal(config.metricsPort, 1);
    assert.equal(config.healthPort, 65535);
  });
});

describe('loadConfig problems', () => {
  test('names the variable and the value when P27_BATCH is not a number', () => {
    const problems = problemsOf({ P27_BATCH: 'abc' });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^P27_BATCH=/);
    assert.match(problems[0] ?? '', /abc/);
  });

  test('rejects a port of 70000 naming the variable and the value', () => {
    const problems = problemsOf({ P27_METRICS_PORT: '70000' });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^P27_METRICS_PORT=.*70000/);
  });

  test('rejects a REDIS_PORT of 0 and of 70000', () => {
    assert.match(problemsOf({ REDIS_PORT: '0' })[0] ?? '', /^REDIS_PORT=.*0/);
    assert.match(problemsOf({ REDIS_PORT: '70000' })[0] ?? '', /^REDIS_PORT=.*70000/);
  });

  for (const name of ['P27_TTL_PLAN_SEC', 'P27_TTL_SYMBOL_SEC', 'P27_DEDUPE_TTL_SEC'] as const) {
    for (const value of ['0', '-1']) {
      test(`rejects ${name}=${value} because a TTL must be positive`, () => {
        const problems = problemsOf({ [name]: value });
        assert.equal(problems.length, 1);
        assert.ok(problems[0]?.startsWith(`${name}=`), problems[0]);
        assert.ok(problems[0]?.includes(value), problems[0]);
      });
    }
  }

  test('rejects a fractional or exponent integer', () => {
    assert.match(problemsOf({ P27_POLL_MS: '1.5' })[0] ?? '', /^P27_POLL_MS=.*1\.5/);
    assert.match(problemsOf({ P27_BATCH: '1e3' })[0] ?? '', /^P27_BATCH=.*1e3/);
  });

  test('rejects an unknown log level naming the variable and the value', () => {
    const problems = problemsOf({ P27_LOG_LEVEL: 'TRACE' });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^P27_LOG_LEVEL=.*TRACE/);
  });

  test('rejects a group start id that is neither 0, $ nor a stream id', () => {
    for (const value of ['abc', '>', '1-2-3', '-1']) {
      const problems = problemsOf({ P27_GROUP_START_ID: value });
      assert.equal(problems.length, 1, value);
      assert.ok(problems[0]?.startsWith('P27_GROUP_START_ID='), problems[0]);
      assert.ok(problems[0]?.includes(value), problems[0]);
    }
  });

  test('rejects a group or consumer name holding whitespace or a glob character', () => {
    assert.match(problemsOf({ P27_GROUP: 'heat bridge' })[0] ?? '', /^P27_GROUP=.*heat bridge/);
    assert.match(problemsOf({ P27_CONSUMER: 'c*' })[0] ?? '', /^P27_CONSUMER=.*c\*/);
    assert.match(problemsOf({ P27_STREAM_IN: 'a{b}' })[0] ?? '', /^P27_STREAM_IN=.*a\{b\}/);
  });

  test('rejects equal metrics and health ports', () => {
    const problems = problemsOf({ P27_METRICS_PORT: '9000', P27_HEALTH_PORT: '9000' });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /P27_HEALTH_PORT/);
  });

  test('rejects a dead-letter stream equal to the input stream', () => {
    const problems = problemsOf({ P27_DLQ_STREAM: STREAM });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^P27_DLQ_STREAM=/);
  });

  test('lists every problem at once, one line per bad variable', () => {
    const problems = problemsOf({
      P27_BATCH: 'abc',
      P27_METRICS_PORT: '70000',
      P27_TTL_PLAN_SEC: '0',
      P27_DEDUPE_TTL_SEC: '-1',
      P27_LOG_LEVEL: 'LOUD',
      P27_GROUP_START_ID: 'start',
    });
    const names = problems.map((line) => line.split('=')[0]);
    assert.deepEqual(
      [...names].sort(),
      [
        'P27_BATCH',
        'P27_DEDUPE_TTL_SEC',
        'P27_GROUP_START_ID',
        'P27_LOG_LEVEL',
        'P27_METRICS_PORT',
        'P27_TTL_PLAN_SEC',
      ].sort(),
    );
  });

  test('puts every problem line in the error message', () => {
    const message = messageOf({ P27_BATCH: 'abc', P27_LOG_LEVEL: 'LOUD' });
    assert.match(message, /P27_BATCH=.*abc/);
    assert.match(message, /P27_LOG_LEVEL=.*LOUD/);
  });

  test('still reports clashing ports when another variable is also bad', () => {
    const problems = problemsOf({ P27_BATCH: 'abc', P27_METRICS_PORT: '9000', P27_HEALTH_PORT: '9000' });
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.ok(problems.some((line) => line.startsWith('P27_BATCH=')));
    assert.ok(problems.some((line) => line.startsWith('P27_HEALTH_PORT=')));
  });
});

describe('loadConfig REDIS_URL', () => {
  test('reads host and port from a redis:// URL without TLS', () => {
    const { redis } = loadConfig({ REDIS_URL: 'redis://cache.internal:6390' });
    assert.deepEqual(redis, {
      topology: { kind: 'standalone' },
      host: 'cache.internal',
      port: 6390,
      tls: false,
      username: undefined,
      password: undefined,
      db: 0,
    });
  });

  test('defaults the port to 6379 when the URL has none', () => {
    assert.equal(loadConfig({ REDIS_URL: 'redis://cache.internal' }).redis.port, 6379);
  });

  test('turns TLS on for a rediss:// URL', () => {
    const { redis } = loadConfig({ REDIS_URL: 'rediss://cache.internal:6380' });
    assert.equal(redis.tls, true);
    assert.equal(redis.host, 'cache.internal');
    assert.equal(redis.port, 6380);
  });

  test('takes the URL over REDIS_HOST and REDIS_PORT', () => {
    const { redis } = loadConfig({ REDIS_URL: 'redis://from-url:7000', REDIS_HOST: 'from-host', REDIS_PORT: '7001' });
    assert.equal(redis.host, 'from-url');
    assert.equal(redis.port, 7000);
  });

  test('reads user and password from the URL, percent-decoded', () => {
    const { redis } = loadConfig({ REDIS_URL: 'redis://alice:p%40ss%3Aword@cache:6379' });
    assert.equal(redis.username, 'alice');
    assert.equal(redis.password, 'p@ss:word');
  });

  test('reads a password without a user from the URL', () => {
    const { redis } = loadConfig({ REDIS_URL: 'redis://:secret@cache:6379' });
    assert.equal(redis.username, undefined);
    assert.equal(redis.password, 'secret');
  });

  test('reads the database number from the URL path', () => {
    assert.equal(loadConfig({ REDIS_URL: 'redis://cache:6379/3' }).redis.db, 3);
  });

  test('lets REDIS_DB override the database of the URL', () => {
    assert.equal(loadConfig({ REDIS_URL: 'redis://cache:6379/3', REDIS_DB: '5' }).redis.db, 5);
  });

  test('lets REDIS_PASSWORD and REDIS_USERNAME override those of the URL', () => {
    const { redis } = loadConfig({
      REDIS_URL: 'redis://alice:from-url@cache:6379',
      REDIS_PASSWORD: 'from-env',
      REDIS_USERNAME: 'bob',
    });
    assert.equal(redis.password, 'from-env');
    assert.equal(redis.username, 'bob');
  });

  test('strips the brackets of an IPv6 host', () => {
    const { redis } = loadConfig({ REDIS_URL: 'redis://[::1]:6380' });
    assert.equal(redis.host, '::1');
    assert.equal(redis.port, 6380);
  });

  test('rejects a URL with another scheme without echoing its password', () => {
    const env = { REDIS_URL: 'http://alice:hunter2secret@cache:6379' };
    const problems = problemsOf(env);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^REDIS_URL/);
    assert.ok(!messageOf(env).includes('hunter2secret'), messageOf(env));
  });

  test('rejects an unparseable URL without echoing its password', () => {
    const env = { REDIS_URL: 'redis://alice:hunter2secret@cache:notaport' };
    const problems = problemsOf(env);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^REDIS_URL/);
    assert.ok(!messageOf(env).includes('hunter2secret'), messageOf(env));
  });

  test('rejects a URL without a host without echoing its password', () => {
    const env = { REDIS_URL: 'redis://:hunter2secret@' };
    assert.match(problemsOf(env)[0] ?? '', /^REDIS_URL/);
    assert.ok(!messageOf(env).includes('hunter2secret'), messageOf(env));
  });

  test('rejects a URL path that is not a database number without echoing the password', () => {
    const env = { REDIS_URL: 'redis://alice:hunter2secret@cache:6379/cache' };
    const problems = problemsOf(env);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^REDIS_URL/);
    assert.ok(!messageOf(env).includes('hunter2secret'), messageOf(env));
  });

  test('rejects a negative REDIS_DB', () => {
    assert.match(problemsOf({ REDIS_DB: '-1' })[0] ?? '', /^REDIS_DB=.*-1/);
  });
});

describe('loadConfig Redis topology', () => {
  test('selects Sentinel with the listed sentinels and the master name', () => {
    const { redis } = loadConfig({
      REDIS_SENTINELS: 's1:26379, [::1]:26380',
      REDIS_SENTINEL_MASTER: 'mymaster',
      REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
    });
    assert.deepEqual(redis.topology, {
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      name: 'mymaster',
      sentinelPassword: 'sentinel-secret',
    });
  });

  test('requires REDIS_SENTINEL_MASTER with REDIS_SENTINELS', () => {
    const problems = problemsOf({ REDIS_SENTINELS: 's1:26379' });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^REDIS_SENTINEL_MASTER/);
  });

  test('selects Cluster with the listed nodes', () => {
    const { redis } = loadConfig({ REDIS_CLUSTER_NODES: 'n1:7000,n2:7001' });
    assert.deepEqual(redis.topology, {
      kind: 'cluster',
      nodes: [
        { host: 'n1', port: 7000 },
        { host: 'n2', port: 7001 },
      ],
    });
  });

  test('rejects a database other than 0 on a Cluster', () => {
    assert.match(problemsOf({ REDIS_CLUSTER_NODES: 'n1:7000', REDIS_DB: '2' })[0] ?? '', /^REDIS_DB/);
  });

  test('rejects Sentinel and Cluster set together', () => {
    const problems = problemsOf({
      REDIS_SENTINELS: 's1:26379',
      REDIS_SENTINEL_MASTER: 'mymaster',
      REDIS_CLUSTER_NODES: 'n1:7000',
    });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /REDIS_SENTINELS and REDIS_CLUSTER_NODES/);
  });

  test('rejects an address list entry without a port or with a port over 65535', () => {
    assert.match(problemsOf({ REDIS_CLUSTER_NODES: 'n1:7000,n2' })[0] ?? '', /^REDIS_CLUSTER_NODES=.*n2/);
    assert.match(problemsOf({ REDIS_CLUSTER_NODES: 'n1:70000' })[0] ?? '', /^REDIS_CLUSTER_NODES=.*70000/);
  });
});
