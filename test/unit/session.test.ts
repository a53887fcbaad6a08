// compareSession: a CLIENT INFO line against what the config asks for (database, user, name).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientInfoFields, compareSession } from '../../src/redis/session.js';

// As redis-server 7.0 answers CLIENT INFO (one line, space-separated name=value pairs).
const line = (db: number, name: string, user: string): string =>
  `id=7 addr=127.0.0.1:50412 laddr=127.0.0.1:6379 fd=9 name=${name} age=0 idle=0 flags=N db=${db} sub=0 psub=0 ssub=0 multi=-1 qbuf=26 qbuf-free=20448 argv-mem=10 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=22298 events=r cmd=client|info user=${user} redir=-1 resp=2\n`;

const expected = { db: 5, name: 'heat-bridge:writer:heat_bridge_1', username: undefined };

describe('compareSession', () => {
  test('accepts the database, the default user and the name the config asks for', () => {
    assert.deepEqual(compareSession(line(5, expected.name, 'default'), expected), {
      problems: [],
      nameProblem: undefined,
    });
  });

  test('names REDIS_DB when the connection is in another database', () => {
    const { problems } = compareSession(line(0, expected.name, 'default'), expected);
    assert.deepEqual(problems, ['REDIS_DB is 5 but the connection is in database 0']);
  });

  test('names REDIS_USERNAME when the connection is authenticated as someone else', () => {
    const { problems } = compareSession(line(5, expected.name, 'other'), { ...expected, username: 'bridge' });
    assert.deepEqual(problems, ['REDIS_USERNAME is bridge but the connection is authenticated as other']);
  });

  test('reports a missing name apart: it does not misfile data, it only hides a second instance', () => {
    const { problems, nameProblem } = compareSession(line(5, '', 'default'), expected);
    assert.deepEqual(problems, []);
    assert.match(nameProblem ?? '', /named "", not "heat-bridge:writer:heat_bridge_1" \(is CLIENT SETNAME denied\?\)/);
  });

  test('reads every name=value pair of the line', () => {
    const fields = clientInfoFields(line(3, 'n', 'u'));
    assert.equal(fields.db, '3');
    assert.equal(fields.user, 'u');
    assert.equal(fields.cmd, 'client|info');
    assert.equal(fields.resp, '2');
  });
});
