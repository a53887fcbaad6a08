// parseEnvFile reads an env file as systemd's EnvironmentFile= does, and refuses each line systemd reads otherwise.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EnvFileError, parseEnvFile } from '../../src/env-file.js';

/** The refusal message parseEnvFile gives for text, or a failure when it accepts it. */
function refusal(text: string): string {
  try {
    const vars = parseEnvFile(text, 'f.env');
    assert.fail(`accepted: ${JSON.stringify(vars)}`);
  } catch (error) {
    assert.ok(error instanceof EnvFileError, String(error));
    return error.message;
  }
}

describe('lines systemd reads differently are refused with line, variable and what to do', () => {
  test('an inline comment after an unquoted value (issue 10: P27_BATCH=50   # bigger batches)', () => {
    assert.equal(
      refusal('REDIS_HOST=localhost\nP27_BATCH=50   # bigger batches\n'),
      'f.env:2: P27_BATCH: systemd keeps inline comments: put the comment on its own line',
    );
  });

  test('an inline comment after a tab', () => {
    assert.match(refusal('P27_BATCH=50\t# bigger'), /^f\.env:1: P27_BATCH: systemd keeps inline comments/);
  });

  test('an inline comment after a quoted value', () => {
    assert.match(
      refusal('\n\nP27_GROUP="heat_bridge"   # the group'),
      /^f\.env:3: P27_GROUP: systemd keeps inline comments/,
    );
    assert.match(refusal("P27_GROUP='heat_bridge' # the group"), /^f\.env:1: P27_GROUP: systemd keeps inline comments/);
  });

  test("the shell's export prefix, which systemd skips", () => {
    assert.equal(
      refusal('export REDIS_HOST=redis.internal'),
      `f.env:1: REDIS_HOST: systemd does not accept the shell's "export" prefix (it skips the line): remove "export"`,
    );
  });

  test('text after a closing quote, which systemd joins to the value', () => {
    assert.match(
      refusal('P27_GROUP="heat"_bridge'),
      /^f\.env:1: P27_GROUP: systemd joins the text after the closing quote/,
    );
  });

  test('a value continued on the next line by a trailing backslash', () => {
    assert.match(
      refusal('A=1\nREDIS_PASSWORD=abc\\\ndef'),
      /^f\.env:2: REDIS_PASSWORD: a backslash at the end of the line/,
    );
    assert.match(
      refusal('REDIS_PASSWORD="abc\\\ndef"'),
      /^f\.env:1: REDIS_PASSWORD: a backslash at the end of the line/,
    );
  });

  test('a quote left open, which systemd reads on into the next lines', () => {
    assert.match(refusal('REDIS_PASSWORD="abc\nP27_BATCH=5"'), /^f\.env:1: REDIS_PASSWORD: the quote is not closed/);
    assert.match(refusal("REDIS_PASSWORD='abc"), /^f\.env:1: REDIS_PASSWORD: the quote is not closed/);
  });

  test('a line without "=", which systemd skips, without echoing the line', () => {
    const message = refusal('A=1\nsecretpassword\n');
    assert.match(message, /^f\.env:2: expected KEY=VALUE .*got a line without "="$/);
    assert.doesNotMatch(message, /secretpassword/);
  });

  test('an invalid name, naming it but never the value', () => {
    const message = refusal('P27-BATCH=hunter2');
    assert.match(message, /^f\.env:1: expected KEY=VALUE .*got the name "P27-BATCH"$/);
    assert.doesNotMatch(message, /hunter2/);
  });

  test('a byte order mark, which makes systemd skip the first line', () => {
    assert.match(refusal('\uFEFFREDIS_HOST=localhost'), /^f\.env:1: the file starts with a byte order mark/);
  });
});

describe('lines read as systemd reads them', () => {
  test('comment lines start with # or ;, also indented', () => {
    assert.deepEqual(parseEnvFile('# a\n; b\n   # c\n\t; d\nA=1'), { A: '1' });
  });

  test('a dollar sign is kept: no expansion (issue 10: s3cr$et)', () => {
    assert.deepEqual(parseEnvFile('REDIS_PASSWORD=s3cr$et\nB="x$HOME"\nC=\'$y\''), {
      REDIS_PASSWORD: 's3cr$et',
      B: 'x$HOME',
      C: '$y',
    });
  });

  test('a hash without blank before it is part of the value', () => {
    assert.deepEqual(parseEnvFile('REDIS_PASSWORD=pa#ss#'), { REDIS_PASSWORD: 'pa#ss#' });
  });

  test('a " #" inside quotes belongs to the value', () => {
    assert.deepEqual(parseEnvFile('REDIS_PASSWORD="a # b"'), { REDIS_PASSWORD: 'a # b' });
  });

  test('an unquoted backslash keeps the next character; two make one', () => {
    assert.deepEqual(parseEnvFile('A=a\\ b\nB=c\\\\d\nC=\\#x'), { A: 'a b', B: 'c\\d', C: '#x' });
  });

  test('double quotes unescape \\" \\\\ \\` \\$ and keep any other backslash', () => {
    assert.deepEqual(parseEnvFile('A="q\\"\\\\\\`\\$ \\n"'), { A: 'q"\\`$ \\n' });
  });

  test('single quotes keep everything verbatim, backslashes included', () => {
    assert.deepEqual(parseEnvFile('A=\'x\\\\y "z"\''), { A: 'x\\\\y "z"' });
  });

  test('quotes after the first character are part of an unquoted value', () => {
    assert.deepEqual(parseEnvFile('A=it\'s\nB=say"hi"'), { A: "it's", B: 'say"hi"' });
  });

  test('blanks around the value are dropped, inner blanks kept', () => {
    assert.deepEqual(parseEnvFile('A =  two  words  \nB= " padded "  '), { A: 'two  words', B: ' padded ' });
  });

  test('CRLF line ends, also after quoted values and comments', () => {
    assert.deepEqual(parseEnvFile('# c\r\nA="x y"\r\n; d\r\nB=1\r\n\r\n'), { A: 'x y', B: '1' });
  });

  test('a refusal in a CRLF file gives the right line number', () => {
    assert.match(refusal('A=1\r\n\r\nP27_BATCH=50 # x\r\n'), /^f\.env:3: P27_BATCH:/);
  });
});
