// The embedded default: reuse whatever answers at REDIS_HOST:REDIS_PORT, else run redis-server there.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { RECOMMENDED_LISTPACK_VALUE } from './memory-advice.js';

export class EmbeddedRedisError extends Error {
  override name = 'EmbeddedRedisError';
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1']);

/** Resolves true when a TCP connection to host:port opens within timeoutMs. */
export function answers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

export interface EmbeddedRedis {
  readonly started: boolean;
  stop(): Promise<void>;
}

export async function ensureRedis(host: string, port: number, dataDir: string, log: Logger): Promise<EmbeddedRedis> {
  if (await answers(host, port)) {
    log.info({ host, port }, 'embedded redis: something answers there already; using it');
    return { started: false, stop: async () => {} };
  }
  if (!LOOPBACK.has(host) && !host.startsWith('127.')) {
    throw new EmbeddedRedisError(`embedded redis runs on loopback only; nothing answers at ${host}:${port}`);
  }
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const bind = host === '::1' ? '::1' : '127.0.0.1';
  const args = ['--port', String(port), '--bind', bind, '--dir', dir, '--appendonly', 'yes', '--save', ''];
  // The README's memory recommendation: keep decision hashes in the compact encoding.
  args.push('--hash-max-listpack-value', String(RECOMMENDED_LISTPACK_VALUE));
  const child = spawn('redis-server', [...args, '--logfile', 'redis.log'], { stdio: 'ignore' });
  const spawnError = new Promise<Error>((resolveError) => child.once('error', resolveError));
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));

  const deadline = Date.now() + 10_000;
  for (;;) {
    const failure = await Promise.race([spawnError, exited.then(() => null), sleep(100).then(() => undefined)]);
    if (failure instanceof Error) {
      throw new EmbeddedRedisError(
        `redis-server not found on PATH (${failure.message}); install it (apt-get install redis-server) or set REDIS_HOST`,
        { cause: failure },
      );
    }
    if (failure === null) throw new EmbeddedRedisError(`redis-server exited at start; see ${dir}/redis.log`);
    if (await answers(bind, port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new EmbeddedRedisError(`redis-server did not answer on ${bind}:${port} within 10 s`);
    }
  }
  log.info(
    { host: bind, port, dir },
    'embedded redis: started redis-server (appendonly yes); it stops with the service',
  );
  return { started: true, stop: () => stopChild(child, exited, log) };
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>, log: Logger): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
  if (!done) child.kill('SIGKILL');
  log.info('embedded redis: stopped');
}
