// parseEnvFile: the KEY=VALUE format of the spec's env file, and the spec's own example.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { EnvFileError, parseEnvFile } from '../../src/env-file.js';

// Copied verbatim from the Configuration section of heat-bridge-spec.md.
const SPEC_EXAMPLE = `# Redis Connection
REDIS_HOST=localhost
REDIS_PORT=6379

# Stream Configuration
P27_STREAM_IN=quantum:stream:harvest.heat.decision
P27_GROUP=heat_bridge
P27_CONSUMER=heat_bridge_1
P27_POLL_MS=500
P27_BATCH=10

# TTL Configuration (seconds)
P27_TTL_PLAN_SEC=1800          # TTL for by_plan lookup keys
P27_TTL_SYMBOL_SEC=1800        # TTL for latest_symbol and latest_plan_id keys
P27_DEDUPE_TTL_SEC=120         # TTL for deduplication keys

# Endpoint Configuration
P27_METRICS_PORT=8070          # Prometheus metrics endpoint
P27_HEALTH_PORT=8071           # Health check endpoint

# Logging
P27_LOG_LEVEL=INFO             # DEBUG | INFO | WARNING | ERROR
`;

/** The fix the error message asks for: each inline comment moved to a line of its own above its setting. */
function commentsOnTheirOwnLines(text: string): string {
  return text.replace(/^(\w+=\S*)[ \t]+(#.*)$/gm, '$2\n$1');
}

describe('parseEnvFile', () => {
  test('reads KEY=VALUE lines in file order', () => {
    const vars = parseEnvFile('A=1\nB=two\nC=three words');
    assert.deepEqual(vars, { A: '1', B: 'two', C: 'three words' });
    assert.deepEqual(Object.keys(vars), ['A', 'B', 'C']);
  });

  test('skips comment lines, indented comments and blank lines', () => {
    const vars = parseEnvFile('# a comment\n\n   \n  # indented comment\nA=1\n\n#B=2\n');
    assert.deepEqual(vars, { A: '1' });
  });

  test('keeps a hash that is not preceded by whitespace', () => {
    assert.deepEqual(parseEnvFile('REDIS_PASSWORD=abc#def'), { REDIS_PASSWORD: 'abc#def' });
  });

  test('removes double and single quotes around a value', () => {
    assert.deepEqual(parseEnvFile('A="hello world"\nB=\'single\''), { A: 'hello world', B: 'single' });
  });

  test('keeps a " # " inside a quoted value', () => {
    assert.deepEqual(parseEnvFile('A="not # a comment"'), { A: 'not # a comment' });
  });

  test('keeps whitespace inside quotes', () => {
    assert.deepEqual(parseEnvFile('A="  padded  "'), { A: '  padded  ' });
  });

  test('reads an empty value as an empty string', () => {
    assert.deepEqual(parseEnvFile('A=\nB=""'), { A: '', B: '' });
  });

  test('keeps every "=" after the first in the value', () => {
    assert.deepEqual(parseEnvFile('REDIS_URL=redis://u:p=w@host:6379/0'), { REDIS_URL: 'redis://u:p=w@host:6379/0' });
  });

  test('accepts whitespace around the equals sign and around the line', () => {
    assert.deepEqual(parseEnvFile('  P27_BATCH = 20  '), { P27_BATCH: '20' });
  });

  test('reads CRLF line endings without a trailing carriage return in the values', () => {
    const vars = parseEnvFile('# comment\r\nREDIS_HOST=localhost\r\nP27_BATCH=10\r\n\r\nP27_LOG_LEVEL="INFO"\r\n');
    assert.deepEqual(vars, { REDIS_HOST: 'localhost', P27_BATCH: '10', P27_LOG_LEVEL: 'INFO' });
  });

  test('lets a later line win over an earlier one', () => {
    assert.deepEqual(parseEnvFile('A=1\nA=2'), { A: '2' });
  });

  test('throws an EnvFileError naming the source and line number of a malformed line', () => {
    assert.throws(
      () => parseEnvFile('A=1\n# comment\n\nthis is not an assignment\nB=2', '/etc/quantum/heat-bridge.env'),
      (error: unknown) => {
        assert.ok(error instanceof EnvFileError);
        assert.equal(error.name, 'EnvFileError');
        assert.match(error.message, /^\/etc\/quantum\/heat-bridge\.env:4: /);
        return true;
      },
    );
  });

  test('counts lines of a CRLF file correctly in the error', () => {
    assert.throws(() => parseEnvFile('A=1\r\nB=2\r\n1BAD=3\r\n'), /env file:3: /);
  });

  test('rejects a key that starts with a digit or holds a dash', () => {
    assert.throws(() => parseEnvFile('1A=1'), EnvFileError);
    assert.throws(() => parseEnvFile('P27-BATCH=1'), EnvFileError);
  });
});

describe('the spec example env file', () => {
  test('is refused at its first inline comment, with the line, the variable and the systemd hint', () => {
    assert.throws(
      () => parseEnvFile(SPEC_EXAMPLE, 'heat-bridge.env'),
      new EnvFileError(
        'heat-bridge.env:13: P27_TTL_PLAN_SEC: systemd keeps inline comments: put the comment on its own line',
      ),
    );
  });

  test('with its comments on their own lines, parses into exactly the variables and values of the spec', () => {
    assert.deepEqual(parseEnvFile(commentsOnTheirOwnLines(SPEC_EXAMPLE)), {
      REDIS_HOST: 'localhost',
      REDIS_PORT: '6379',
      P27_STREAM_IN: 'quantum:stream:harvest.heat.decision',
      P27_GROUP: 'heat_bridge',
      P27_CONSUMER: 'heat_bridge_1',
      P27_POLL_MS: '500',
      P27_BATCH: '10',
      P27_TTL_PLAN_SEC: '1800',
      P27_TTL_SYMBOL_SEC: '1800',
      P27_DEDUPE_TTL_SEC: '120',
      P27_METRICS_PORT: '8070',
      P27_HEALTH_PORT: '8071',
      P27_LOG_LEVEL: 'INFO',
    });
  });

  test('with its comments on their own lines, is accepted by loadConfig with the values of the spec', () => {
    const config = loadConfig(parseEnvFile(commentsOnTheirOwnLines(SPEC_EXAMPLE)));
    assert.equal(config.redis.host, 'localhost');
    assert.equal(config.redis.port, 6379);
    assert.equal(config.stream, 'quantum:stream:harvest.heat.decision');
    assert.equal(config.group, 'heat_bridge');
    assert.equal(config.consumer, 'heat_bridge_1');
    assert.equal(config.pollMs, 500);
    assert.equal(config.batch, 10);
    assert.equal(config.ttlPlanSec, 1800);
    assert.equal(config.ttlSymbolSec, 1800);
    assert.equal(config.dedupeTtlSec, 120);
    assert.equal(config.metricsPort, 8070);
    assert.equal(config.healthPort, 8071);
    assert.equal(config.logLevel, 'info');
  });

  test('with its comments on their own lines, is accepted by loadConfig with CRLF line endings', () => {
    const config = loadConfig(parseEnvFile(commentsOnTheirOwnLines(SPEC_EXAMPLE).replaceAll('\n', '\r\n')));
    assert.equal(config.logLevel, 'info');
    assert.equal(config.dedupeTtlSec, 120);
  });
});
