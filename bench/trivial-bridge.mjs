// The trivial bridge, the latency reference: XREADGROUP BLOCK, HSET by_plan with the entry's
// fields, XACK. Nothing else (no validation, dedupe, TTL, latest, metrics). `node bench/trivial-bridge.mjs run`.

import { Redis } from 'ioredis';

const env = process.env;
const stream = env.P27_STREAM_IN || 'quantum:stream:harvest.heat.decision';
const group = env.P27_GROUP || 'heat_bridge';
const consumer = env.P27_CONSUMER || 'heat_bridge_1';
const count = Number(env.P27_BATCH || '10');
const blockMs = Number(env.P27_POLL_MS || '500');
const BY_PLAN = 'quantum:harvest:heat:by_plan:';

if (process.argv[2] !== 'run') {
  process.stderr.write('usage: node bench/trivial-bridge.mjs run (REDIS_HOST, REDIS_PORT, P27_* from env)\n');
  process.exit(2);
}

// RESP2 like the service's connections; credentials only from env, as the service takes them.
const redis = new Redis({
  host: env.REDIS_HOST || '127.0.0.1',
  port: Number(env.REDIS_PORT || '6379'),
  username: env.REDIS_USERNAME || undefined,
  password: env.REDIS_PASSWORD || undefined,
  protocol: 2,
  maxRetriesPerRequest: null,
});
redis.on('error', () => {});

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    stopping = true;
    // A blocked XREADGROUP is cut short by the disconnect; the loop then sees `stopping` and ends.
    redis.disconnect();
  });
}

try {
  // As the service does: create the group (and the stream) from P27_GROUP_START_ID, keep an existing one.
  await redis.xgroup('CREATE', stream, group, env.P27_GROUP_START_ID || '0', 'MKSTREAM');
} catch (error) {
  if (!String(error?.message).startsWith('BUSYGROUP')) throw error;
}

while (!stopping) {
  let reply;
  try {
    reply = await redis.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', stream, '>');
  } catch (error) {
    if (stopping) break;
    throw error;
  }
  const entries = reply?.[0]?.[1] ?? [];
  if (entries.length === 0) continue;
  const pipeline = redis.pipeline();
  const ids = [];
  for (const [id, fields] of entries) {
    const at = fields.indexOf('plan_id');
    if (at >= 0 && at % 2 === 0) pipeline.hset(BY_PLAN + fields[at + 1], ...fields);
    ids.push(id);
  }
  pipeline.xack(stream, group, ...ids);
  await pipeline.exec();
}
process.exit(0);
