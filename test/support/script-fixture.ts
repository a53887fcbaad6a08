// The set-up of the files that call the Lua scripts directly: a redis-server whose test client has
// the scripts defined (EVALSHA with NOSCRIPT fallback), emptied before each test.

import { beforeEach } from 'node:test';
import { defineScripts } from '../../src/redis/scripts.js';
import { type RedisFixture, redisFixture } from './bridge-fixture.js';

export interface ScriptFixtureOptions {
  /** A consumer group created (from id 0, with MKSTREAM) after each FLUSHALL. */
  readonly group?: { readonly stream: string; readonly name: string };
}

/** Registers before/after/beforeEach hooks in the calling describe; see ScriptFixtureOptions. */
export function scriptFixture(options: ScriptFixtureOptions = {}): Pick<RedisFixture, 'server' | 'redis'> {
  const fixture = redisFixture({
    prepare: async (redis) => {
      defineScripts(redis);
    },
  });
  beforeEach(async () => {
    await fixture.redis.flushall();
    if (options.group !== undefined) {
      await fixture.redis.xgroup('CREATE', options.group.stream, options.group.name, '0', 'MKSTREAM');
    }
  });
  return {
    get server() {
      return fixture.server;
    },
    get redis() {
      return fixture.redis;
    },
  };
}
