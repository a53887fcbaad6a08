// isEntryError: which script failures mark the entry as poison and which mean "Redis busy, retry".

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isEntryError } from '../../src/consumer/batch-applier.js';

function replyError(message: string): Error {
  const error = new Error(message);
  error.name = 'ReplyError';
  return error;
}

describe('isEntryError', () => {
  test('treats a WRONGTYPE reply as an error of the entry', () => {
    assert.equal(isEntryError(replyError('WRONGTYPE Operation against a key holding the wrong kind of value')), true);
  });

  test('treats a script runtime error as an error of the entry', () => {
    const message =
      "ERR user_script:12: Script attempted to access nonexistent global variable 'x' script: abc, on @user_script:12.";
    assert.equal(isEntryError(replyError(message)), true);
  });

  test('treats BUSYKEY and BUSYGROUP as errors of the entry, not as BUSY', () => {
    assert.equal(isEntryError(replyError('BUSYKEY Target key name already exists.')), true);
    assert.equal(isEntryError(replyError('BUSYGROUP Consumer Group name already exists')), true);
  });

  const transient = [
    "OOM command not allowed when used memory > 'maxmemory'.",
    "READONLY You can't write against a read only replica.",
    'LOADING Redis is loading the dataset in memory',
    'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.',
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
    'CLUSTERDOWN The cluster is down',
    'TRYAGAIN Multiple keys request during rehashing of slot',
    'NOSCRIPT No matching script. Please use EVAL.',
    'UNBLOCKED client unblocked via CLIENT UNBLOCK',
  ];
  for (const message of transient) {
    const prefix = message.split(' ')[0];
    test(`treats a ${prefix} reply as transient, not an error of the entry`, () => {
      assert.equal(isEntryError(replyError(message)), false);
    });
  }

  test('treats an error that is not a ReplyError as transient, whatever its message', () => {
    assert.equal(isEntryError(new Error('WRONGTYPE Operation against a key holding the wrong kind of value')), false);
    const connection = new Error('Connection is closed.');
    assert.equal(isEntryError(connection), false);
    const aborted = new Error('Command aborted due to connection close');
    aborted.name = 'AbortError';
    assert.equal(isEntryError(aborted), false);
  });
});
