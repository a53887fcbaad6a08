// The embedded default: reuse whatever answers at REDIS_HOST:REDIS_PORT, else run redis-server there.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { RECOMMENDED_LISTPACK_VALUE } from './memory-advice.js';

/** A deployment problem found at start (another program on the port, no redis-server): `run` exits 2. */
export class EmbeddedRedisError extends Error {
  override name = 'EmbeddedRedisError';
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1']);

/** What listens at an address: nothing, a Redis (it answered PING in RESP), or something else. */
export type Listener =
  | { readonly kind: 'nothing' }
  | { readonly kind: 'redis' }
  | { readonly kind: 'other'; readonly reply: string };

/**
 * Sends an inline PING (RESP "inline command") and reads the first bytes of the reply. Redis answers
 * "+PONG", or an error such as "-NOAUTH …" or "-DENIED …" when it wants a password or is in protected
 * mode: all start with "+" or "-". Anything else, or silence, is another program (issue 10 §2: an
 * HTTP server on 6379 answered "HTTP/1.1 400", and the service logged "Unknown RESP type 72" forever).
 */
export function probeListener(host: string, port: number, timeoutMs = 1000): Promise<Listener> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    let reply = '';
    let connected = false;
    const finish = (listener: Listener) => {
      socket.destroy();
      done(listener);
    };
    const other = () =>
      finish({ kind: 'other', reply: reply === '' ? 'no reply to PING' : JSON.stringify(reply.slice(0, 40)) });
    socket.setTimeout(timeoutMs, () => (connected ? other() : finish({ kind: 'nothing' })));
    socket.once('connect', () => {
      connected = true;
      socket.write('PING\r\n');
    });
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (/^[+-]/.test(reply)) finish({ kind: 'redis' });
      else other();
    });
    socket.once('end', () => (connected ? other() : finish({ kind: 'nothing' })));
    socket.once('error', () => (connected ? other() : finish({ kind: 'nothing' })));
  });
}

/** Resolves true when a Redis answers PING at host:port. */
export async function answers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return (await probeListener(host, port, timeoutMs)).kind === 'redis';
}

export interface EmbeddedRedis {
  readonly started: boolean;
  stop(): Promise<void>;
}

export async function ensureRedis(host: string, port: number, dataDir: string, log: Logger): Promise<EmbeddedRedis> {
  const listener = await probeListener(host, port);
  if (listener.kind === 'redis') {
    log.info({ host, port }, 'embedded redis: a Redis answers there already; using it');
    return { started: false, stop: async () => {} };
  }
  if (listener.kind === 'other') {
    throw new EmbeddedRedisError(
      `something other than Redis listens on ${host}:${port} (${listener.reply}): stop it, or set REDIS_PORT to a free port`,
    );
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

  const deadline = performance.now() + 10_000;
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
    if (performance.now() > deadline) {
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
