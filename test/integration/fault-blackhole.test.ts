// Fault injection: Redis's packets to one connection vanish (no FIN, no RST, as when a NAT entry or an
// LB idle timeout is lost) while Redis keeps accepting new connections. Every connection the service
// and the CLI hold must be torn down and replaced within seconds (issue 9 §2).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Cluster, type Redis } from 'ioredis';
import { loadConfig } from '../../src/config.js';
import { connectOnce } from '../../src/redis/cli-connection.js';
import { decision, flat } from '../support/decisions.js';
import { sample } from '../support/metrics-text.js';
import { NetNamespaceRedis } from '../support/net-namespace.js';
import { type InProcessService, startInProcess } from '../support/service.js';
import { STREAM } from '../support/spec-contract.js';
import { waitFor } from '../support/wait-for.js';

const CONSUMER = 'blackhole_test';
// The kernel alone would take ~15 min (tcp_retries2); "within seconds" with room for a busy machine.
const REPLACED_WITHIN_MS = 45_000;
const WRITTEN = 'p27_written_total{kind="by_plan"}';

for (const topology of ['standalone', 'sentinel', 'cluster'] as const) {
  describe(`a black-holed connection is replaced (${topology})`, () => {
    let server: NetNamespaceRedis;
    let producer: Redis | Cluster;
    let bridge: InProcessService;

    before(async () => {
      server = await NetNamespaceRedis.start(topology);
      producer =
        topology === 'cluster'
          ? new Cluster(server.dataPorts.map((port) => ({ host: server.host, port })))
          : server.client();
      producer.on('error', () => {});
      bridge = await startInProcess({ ...server.env, P27_CONSUMER: CONSUMER });
    });

    after(async () => {
      producer?.disconnect();
      await bridge?.stop();
      await server?.stop();
    });

    /** Injects one decision and waits until the service counts it as written. */
    async function applied(): Promise<void> {
      const before = await sample(bridge.metricsUrl, WRITTEN);
      await producer.xadd(STREAM, '*', ...flat(decision()));
      await waitFor(async () => (await sample(bridge.metricsUrl, WRITTEN)) > before, {
        timeoutMs: REPLACED_WITHIN_MS,
        what: 'the service to count a decision as written',
      });
    }

    /** Black-holes every connection named `name` (one per data node it talks to); returns their ports. */
    async function blackholeAll(name: string): Promise<number[]> {
      const ports = await server.portsOf(name);
      assert.ok(ports.length > 0, `a ${name} connection before the fault`);
      for (const port of ports) server.blackhole(port);
      return ports;
    }

    for (const role of ['writer', 'reader'] as const) {
      test(`replaces a ${role} whose replies are dropped, and goes on applying decisions`, async () => {
        await applied();
        const name = `heat-bridge:${role}:${CONSUMER}`;
        const droppedBefore = server.dropped();
        const dead = await blackholeAll(name);
        // Make the service use the dead socket: the writer applies this one, the reader is blocked anyway.
        await producer.xadd(STREAM, '*', ...flat(decision()));
        const replacement = await waitFor(async () => (await server.portsOf(name)).find((p) => !dead.includes(p)), {
          timeoutMs: REPLACED_WITHIN_MS,
          what: `a new ${role} connection`,
        });
        assert.ok(!dead.includes(replacement));
        assert.ok(server.dropped() > droppedBefore, 'the black hole dropped packets (the fault was real)');
        await applied();
      });
    }

    test('replaces a black-holed CLI connection (proof polls over one connection for its whole run)', async () => {
      const config = loadConfig({ ...server.env });
      const cli = await connectOnce(config.redis);
      try {
        assert.equal(await cli.set('blackhole:cli', 'before'), 'OK');
        const dead = await blackholeAll('heat-bridge:cli');
        // Like proof's polling loop: each failed command is retried until one succeeds.
        const value = await waitFor(() => cli.get('blackhole:cli'), {
          timeoutMs: REPLACED_WITHIN_MS,
          intervalMs: 200,
          what: 'a CLI command to succeed after the fault',
        });
        assert.equal(value, 'before');
        const ports = await server.portsOf('heat-bridge:cli');
        assert.ok(
          ports.some((p) => !dead.includes(p)),
          `a new CLI connection (ports ${ports.join(', ')})`,
        );
      } finally {
        cli.disconnect();
      }
    });
  });
}
