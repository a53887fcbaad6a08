// README promise of the config table (issue 12 §2): `REDIS_URL=rediss://…` connects with TLS, against a
// real redis-server with a TLS port; the server's certificate is verified, and a refusal is named as
// the deployment's problem.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { classifyFailure, describeFailure } from '../../src/redis/redis-failure.js';
import { decision, flat } from '../support/decisions.js';
import { freePort } from '../support/free-port.js';
import { healthReply } from '../support/health-document.js';
import { startReadyChild } from '../support/ready-child.js';
import { RedisServer } from '../support/redis-server.js';
import { runProcess } from '../support/run-process.js';
import type { ChildService } from '../support/service.js';
import { byPlanKey } from '../support/spec-contract.js';
import { STREAM } from '../support/stream-group.js';
import { waitFor } from '../support/wait-for.js';

describe('REDIS_URL=rediss:// (TLS)', () => {
  let dir: string;
  let cert: string;
  let tlsPort: number;
  let server: RedisServer;
  let redis: Redis;
  const children: ChildService[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'heat-bridge-tls-'));
    cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    // Self-signed for 127.0.0.1: trusted only where NODE_EXTRA_CA_CERTS names it.
    const made = await runProcess('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]);
    assert.equal(made.code, 0, made.stderr);
    tlsPort = await freePort();
    // The plain port stays for the test's own client; the service gets only the TLS port.
    server = await RedisServer.start({
      extraArgs: [
        '--tls-port',
        String(tlsPort),
        '--tls-cert-file',
        cert,
        '--tls-key-file',
        key,
        '--tls-ca-cert-file',
        cert,
        '--tls-auth-clients',
        'no',
      ],
    });
    redis = server.client();
  });
  after(async () => {
    for (const c of children) await c.kill('SIGKILL');
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('bridges over TLS when the server certificate is trusted', async () => {
    const bridge = await startReadyChild({
      REDIS_URL: `rediss://127.0.0.1:${tlsPort}`,
      NODE_EXTRA_CA_CERTS: cert,
      P27_CONSUMER: 'promise_tls',
    });
    children.push(bridge);
    const d = decision({ symbol: 'TLSUSDT' });
    await redis.xadd(STREAM, '*', ...flat(d));
    await waitFor(async () => (await redis.exists(byPlanKey(d.plan_id))) === 1, {
      what: 'the decision bridged over TLS',
    });
    const started = bridge.logs.find((l) => l.msg === 'heat-bridge started');
    assert.match(String(started?.redis), new RegExp(`^rediss://127\\.0\\.0\\.1:${tlsPort}/0$`));
    assert.equal((await healthReply(bridge.healthUrl)).redis, 'up');
  });

  test('refuses a server whose certificate it cannot verify, and says so', async (t) => {
    const bridge = await startReadyChild({
      REDIS_URL: `rediss://127.0.0.1:${tlsPort}`,
      P27_CONSUMER: 'promise_tls_untrusted',
      P27_STREAM_IN: 'quantum:stream:promise-tls-untrusted',
      P27_DLQ_STREAM: 'quantum:stream:promise-tls-untrusted.dlq',
    });
    children.push(bridge);
    const TLS_REFUSED =
      /^the TLS connection to Redis was refused \(self[- ]signed certificate\): trust its certificate's CA \(NODE_EXTRA_CA_CERTS\) or check REDIS_URL$/;
    // The deployment's problem in the operator's words, in /health and the log (never "an internal
    // error in HeatBridge", as before issue 12).
    const down = await waitFor(
      async () => {
        const h = await healthReply(bridge.healthUrl);
        return h.status === 'error' && (h.reasons ?? []).length > 0 ? h : undefined;
      },
      { what: '/health error' },
    );
    t.diagnostic(JSON.stringify(down.reasons));
    assert.equal(down.code, 503);
    assert.match(down.reasons?.[0]?.replace(/^redis unreachable: /, '') ?? '', TLS_REFUSED);
    const refused = await bridge.waitForLog((l) => l.msg === 'redis session refused; retrying');
    assert.match(String(refused.err), TLS_REFUSED);
    // Nothing was read from a server it could not verify: the group was never created.
    assert.deepEqual(await redis.keys('quantum:stream:promise-tls-untrusted*'), []);
  });

  test("the failures of a TLS connection are the deployment's, as Node.js reports them for real", async () => {
    const cases: [what: string, options: Record<string, unknown>, port: () => number, code: RegExp][] = [
      ['an untrusted (self-signed) certificate', {}, () => tlsPort, /^DEPTH_ZERO_SELF_SIGNED_CERT$/],
      [
        'a certificate for another host name',
        { ca: readFileSync(cert), servername: 'cache.example' },
        () => tlsPort,
        /^ERR_TLS_CERT_ALTNAME_INVALID$/,
      ],
    ];
    for (const [what, options, port, code] of cases) {
      const client = new Redis({
        host: '127.0.0.1',
        port: port(),
        tls: options,
        lazyConnect: true,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
      });
      const error = await new Promise<Error>((resolve) => {
        client.once('error', resolve);
        client.connect().catch(() => {});
      });
      client.disconnect();
      const failure = classifyFailure(error);
      assert.match(failure.code, code, `${what}: ${error.message}`);
      assert.equal(failure.class, 'deployment', what);
      assert.match(describeFailure(failure), /^the TLS connection to Redis was refused \(.+\): /, what);
    }
  });
});
