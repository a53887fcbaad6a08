// Helpers of the README-promise tests (issue 12 §2): freezing a process and finding the address a
// process listens on.

import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { type DecisionFields, decision, flat } from './decisions.js';
import { waitFor } from './wait-for.js';

/** SIGSTOP: the process keeps its sockets open and answers nothing, as a hung host does. */
export function freeze(pid: number | undefined): void {
  if (pid === undefined) throw new Error('no pid to freeze');
  process.kill(pid, 'SIGSTOP');
}

/** SIGCONT: a frozen process runs again. Safe on a process that has exited. */
export function thaw(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGCONT');
  } catch {
    // Already gone.
  }
}

/** The direct children of a process (Linux /proc), e.g. the redis-server a `--embedded-redis` service started. */
export function childPids(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(' ').map(Number);
}

/**
 * The local addresses TCP sockets in LISTEN state are bound to on a port, from /proc/net/tcp and
 * /proc/net/tcp6 (what `ss -ltn` shows): e.g. ['127.0.0.1'] or ['0.0.0.0'].
 */
export function listeningAddresses(port: number): string[] {
  const found: string[] = [];
  for (const [file, v6] of [
    ['/proc/net/tcp', false],
    ['/proc/net/tcp6', true],
  ] as const) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const [addressHex, portHex] = (cols[1] ?? '').split(':');
      // State 0A is LISTEN.
      if (cols[3] !== '0A' || portHex === undefined || Number.parseInt(portHex, 16) !== port) continue;
      found.push(v6 ? ipv6FromProc(addressHex ?? '') : ipv4FromProc(addressHex ?? ''));
    }
  }
  return found;
}

/** /proc/net/tcp writes an IPv4 address as 8 hex digits in host (little-endian) byte order. */
function ipv4FromProc(hex: string): string {
  const bytes = hex.match(/../g) ?? [];
  return bytes
    .map((b) => Number.parseInt(b, 16))
    .reverse()
    .join('.');
}

/** /proc/net/tcp6: four 32-bit words, each little-endian; '::' for the unspecified address. */
function ipv6FromProc(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => (w.match(/../g) ?? []).reverse());
  const groups: string[] = [];
  for (let i = 0; i < bytes.length; i += 2) groups.push(`${bytes[i]}${bytes[i + 1]}`.replace(/^0+(?=.)/, ''));
  const text = groups.join(':');
  return text === '0:0:0:0:0:0:0:0' ? '::' : text;
}

/**
 * After freeze(service): a waiting service has a consume.lua call queued in Redis behind its blocking
 * XREAD, which Redis runs when the next entry arrives, frozen service or not (README, Delivery
 * guarantees). Adds one trigger decision to `stream` and waits until the reader `consumer` is no
 * longer blocked: from then on the group stays as the test leaves it. Returns the trigger, applied
 * by that call, or left undelivered when the service was not waiting at the freeze.
 */
export async function spendQueuedRead(redis: Redis, stream: string, consumer: string): Promise<DecisionFields> {
  const trigger = decision();
  await redis.xadd(stream, '*', ...flat(trigger));
  const readerBlocked = async () =>
    String(await redis.client('LIST'))
      .split('\n')
      .some((line) => line.includes(`name=heat-bridge:reader:${consumer} `) && /\bflags=\S*b/.test(line));
  await waitFor(async () => !(await readerBlocked()), { what: 'the frozen reader unblocked by the trigger' });
  return trigger;
}
