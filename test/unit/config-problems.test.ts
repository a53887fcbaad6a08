// loadConfig's only failure is a ConfigError whose every line names a variable, for any value of any variable.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ConfigError, DEFAULTS, loadConfig } from '../../src/config.js';

const NAMES = Object.keys(DEFAULTS);

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `${(error as Error).name}: ${(error as Error).message}`);
    return error.problems;
  }
  assert.fail('accepted');
}

describe('REDIS_URL credentials that are not valid percent-encoding', () => {
  test('a raw "%" in the password names REDIS_URL and says how to write it (issue 10: redis://:50%off@…)', () => {
    const problems = problemsOf({ REDIS_URL: 'redis://:50%off@127.0.0.1:6379' });
    assert.deepEqual(problems, [
      'REDIS_URL: the password has a "%" that does not start a %XX escape: write a literal % as %25',
    ]);
  });

  test('a raw "%" in the user name names REDIS_URL without echoing the URL', () => {
    const problems = problemsOf({ REDIS_URL: 'redis://al%ice:hunter2@cache:6379' });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^REDIS_URL: the user name has a "%"/);
    assert.doesNotMatch(problems.join('\n'), /hunter2|al%ice/);
  });

  test('the password written with %25 is read with its "%"', () => {
    assert.equal(loadConfig({ REDIS_URL: 'redis://:50%25off@127.0.0.1:6379' }).redis.password, '50%off');
  });
});

describe('a value that came through systemd with an inline comment', () => {
  test('gets the same hint as the env file parser (issue 10: P27_BATCH=50   # bigger batches)', () => {
    assert.deepEqual(problemsOf({ P27_BATCH: '50   # bigger batches' }), [
      'P27_BATCH="50   # bigger batches": expected an integer from 1 to 10000 (systemd keeps inline comments: put the comment on its own line)',
    ]);
  });

  test('for names, levels, addresses and hosts too', () => {
    const problems = problemsOf({
      P27_GROUP: 'heat_bridge # group',
      P27_LOG_LEVEL: 'INFO  # level',
      REDIS_CLUSTER_NODES: 'a:1 # nodes',
      REDIS_HOST: 'redis.internal # the host',
    });
    assert.equal(problems.length, 4);
    for (const problem of problems) assert.match(problem, /^[A-Z0-9_]+=.*\(systemd keeps inline comments/);
  });

  test('a value without " #" gets no hint', () => {
    assert.doesNotMatch(problemsOf({ P27_BATCH: 'fifty' }).join('\n'), /systemd/);
  });
});

describe('any value of any variable', () => {
  test('is accepted, or refused with a ConfigError whose every problem starts with a variable name', () => {
    const value = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.constantFrom('%', '%zz', 'redis://:%@h', 'redis://%E0%A4%A@h', 'redis://u:p@[::1', '-1', '1e3', ' '),
      fc.string({ unit: 'binary', maxLength: 10 }).map((s) => `redis://u:${s}@h:6379/${s}`),
    );
    const env = fc.dictionary(fc.constantFrom(...NAMES), value, { maxKeys: 6 });
    fc.assert(
      fc.property(env, (vars) => {
        try {
          loadConfig(vars);
        } catch (error) {
          assert.ok(error instanceof ConfigError, `${(error as Error).name}: ${(error as Error).message}`);
          for (const problem of error.problems) {
            assert.ok(
              NAMES.some((name) => problem.startsWith(name)),
              problem,
            );
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});
