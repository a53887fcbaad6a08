// The Redis ACL rules the README gives for the service's user ("The Redis user it needs"), as the
// words of ACL SETUSER: tests run the service as exactly that user, so the doc cannot drift.

import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** ['heat_bridge', 'on', '>password', …]: the README's ACL SETUSER words, the password placeholder replaced. */
export function readmeAclRules(password: string): string[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const line = readme.split('\n').find((l) => l.startsWith('ACL SETUSER heat_bridge '));
  if (line === undefined) throw new Error('the README gives no ACL SETUSER heat_bridge line');
  return line
    .split(/\s+/)
    .slice(2)
    .map((word) => (word === '>PASSWORD' ? `>${password}` : word));
}

/**
 * Fixture options that run the service as the README's user (password `password`, further ACL
 * rules after the README's, e.g. '-xautoclaim' to deny one command), with env added.
 */
export function asReadmeUser(password: string, env: Record<string, string>, ...extraRules: string[]) {
  return {
    env: { REDIS_USERNAME: 'heat_bridge', REDIS_PASSWORD: password, ...env },
    prepare: async (redis: Redis): Promise<void> => {
      await redis.call('ACL', 'SETUSER', ...readmeAclRules(password), ...extraRules);
    },
  };
}
