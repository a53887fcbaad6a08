// `heat-bridge watch` against a running HeatBridge: on a real terminal (tmux) it refreshes in place and
// ends on q or Ctrl-C; piped it prints one line (or JSON object) per decision, in stream order.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { before, describe, test } from 'node:test';
import { bridgeFixture } from '../support/bridge-fixture.js';
import { decision, flat } from '../support/decisions.js';
import { cleanEnv, onLines, runProcess } from '../support/run-process.js';
import { STREAM } from '../support/spec-contract.js';
import { groupState, isPending } from '../support/stream-group.js';
import { cliArgv, openTerminal } from '../support/terminal.js';
import { waitFor } from '../support/wait-for.js';

interface Piped {
  readonly child: ChildProcess;
  readonly out: string[];
  readonly err: string[];
  readonly exited: Promise<number | null>;
}

function startPiped(args: string[], env: Record<string, string>): Piped {
  const [node, ...rest] = cliArgv(['watch', ...args]);
  const child = spawn(node as string, rest, { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  const err: string[] = [];
  onLines(child.stdout, (line) => out.push(line));
  child.stderr?.on('data', (chunk: Buffer) => err.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out, err, exited };
}

describe('heat-bridge watch', () => {
  const fx = bridgeFixture();
  let env: Record<string, string>;
  before(() => {
    env = { ...fx.server.env, P27_HEALTH_PORT: new URL(fx.bridge.healthUrl).port };
  });

  const nowSec = () => Math.floor(Date.now() / 1000);
  /** Adds a decision and waits until the group has acknowledged it, so outcomes follow one another. */
  const add = async (fields: Record<string, string>) => {
    const id = (await fx.redis.xadd(STREAM, '*', ...flat(fields))) as string;
    await waitFor(
      async () => {
        const delivered = (await groupState(fx.redis))?.lastDeliveredId;
        return delivered === id && !(await isPending(fx.redis, id));
      },
      { what: `entry ${id} acknowledged` },
    );
    return id;
  };

  test('piped: one line per decision — applied, deduped, kept stale, dead-lettered — until SIGINT', async () => {
    const watch = startPiped([], env);
    try {
      await waitFor(() => watch.err.join('').includes('watching '), { what: 'watch started' });
      const fresh = decision({ symbol: 'WATCHPUSDT', ts_epoch: String(nowSec()) });
      const applied = await add(fresh);
      const deduped = await add({ ...fresh, heat_level: 'hot' });
      const staleTs = nowSec() - 3600;
      const stale = await add(decision({ symbol: 'WATCHPUSDT', ts_epoch: String(staleTs) }));
      const dead = await add(decision({ symbol: 'WATCHPUSDT', heat_score: 'x' }));
      const lines = await waitFor(() => (watch.out.length >= 4 ? watch.out : undefined), {
        what: 'four events',
      });
      const parsed = lines.map((l) => /^\S+Z (\S+) id=(\S+) symbol=WATCHPUSDT plan_id=\S+ .* age=(\S+)/.exec(l));
      assert.deepEqual(
        parsed.map((m) => [m?.[1], m?.[2]]),
        [
          ['applied', applied],
          ['deduped', deduped],
          ['kept_stale', stale],
          ['dead_lettered', dead],
        ],
        lines.join('\n'),
      );
      // 1h and the whole minutes that passed since ts_epoch by the time the line was read (issue 12 §3).
      const upToMinutes = Math.floor((nowSec() - staleTs - 3600) / 60);
      const minutes = Number(/ age=1h(\d+)m$/.exec(lines[2] ?? '')?.[1] ?? Number.NaN);
      assert.ok(minutes >= 0 && minutes <= upToMinutes, `${lines[2]}: expected age 1h0m..1h${upToMinutes}m`);
      assert.match(lines[3] ?? '', / reason="invalid_heat_score: /);
      watch.child.kill('SIGINT');
      assert.equal(await watch.exited, 0);
    } finally {
      watch.child.kill('SIGKILL');
    }
  });

  test('piped with --json: one object per event', async () => {
    const watch = startPiped(['--json'], env);
    try {
      await waitFor(() => watch.err.join('').includes('watching '), { what: 'watch started' });
      const d = decision({ symbol: 'WATCHJUSDT', ts_epoch: String(nowSec() - 10) });
      const id = await add(d);
      const [line] = await waitFor(() => (watch.out.length >= 1 ? watch.out : undefined), { what: 'one event' });
      const doc = JSON.parse(line as string) as Record<string, unknown>;
      assert.equal(doc.event, 'applied');
      assert.equal(doc.id, id);
      assert.equal(doc.plan_id, d.plan_id);
      assert.ok(typeof doc.age_sec === 'number' && doc.age_sec >= 10);
      watch.child.kill('SIGTERM');
      assert.equal(await watch.exited, 0);
    } finally {
      watch.child.kill('SIGKILL');
    }
  });

  test('piped into a reader that goes away (| head -n 1): ends quietly, no EPIPE crash', async () => {
    const quoted = cliArgv(['watch'])
      .map((a) => `'${a}'`)
      .join(' ');
    const pipeline = runProcess(
      'bash',
      ['-c', `set -o pipefail; ${quoted} | head -n 1; echo "watch=\${PIPESTATUS[0]}" >&2`],
      {
        env,
        timeoutMs: 60_000,
      },
    );
    // watch starts reading at the newest entry: keep adding until one reaches head.
    const adding = setInterval(() => {
      void fx.redis.xadd(STREAM, '*', ...flat(decision({ symbol: 'WATCHHEADUSDT', ts_epoch: String(nowSec()) })));
    }, 500);
    try {
      const result = await pipeline;
      assert.match(result.stdout, /^\S+Z applied id=\S+ symbol=WATCHHEADUSDT /);
      assert.equal(result.stdout.split('\n').length, 2);
      assert.match(result.stderr, /watch=0$/m);
      assert.doesNotMatch(result.stderr, /EPIPE|Error/);
    } finally {
      clearInterval(adding);
    }
  });

  test('on a terminal: refreshes in place with the latest per symbol, shows a Redis outage, ends on q', async () => {
    const term = await openTerminal(cliArgv(['watch', '--interval', '200']), env, { columns: 120, rows: 30 });
    try {
      await term.waitForScreen(/^redis up {2}\| {2}service: ok$/m);
      const screen1 = await term.waitForScreen(/^backlog 0 .*1 live consumer/m);
      assert.match(screen1, /^heat-bridge watch {2}quantum:stream:harvest\.heat\.decision {2}group heat_bridge /);
      const d = decision({
        symbol: 'WATCHTUSDT',
        heat_level: 'warm',
        heat_score: '0.61',
        ts_epoch: String(nowSec() - 5),
      });
      await add(d);
      const screen2 = await term.waitForScreen(/^\d\d:\d\d:\d\d +applied +WATCHTUSDT +warm +0\.61 /m);
      assert.match(screen2, new RegExp(`^WATCHTUSDT +warm +0\\.61 +NONE +\\S+ +${d.plan_id}$`, 'm'));
      // Refreshed in place: one status header on the screen, not one per frame.
      assert.equal(screen2.match(/heat-bridge watch/g)?.length, 1);

      await fx.server.kill();
      await term.waitForScreen(/^REDIS DOWN: /m);
      await fx.server.restart();
      await term.waitForScreen(/^redis up /m);

      await term.send('q');
      assert.equal(await term.exitCode(), 0);
      // The terminal is given back: the view is gone, the shell's screen is back.
      assert.doesNotMatch(await term.screen(), /heat-bridge watch/);
    } finally {
      await term.close();
    }
  });

  test('on a terminal: ends on Ctrl-C with exit 0', async () => {
    const term = await openTerminal(cliArgv(['watch']), env, { columns: 100, rows: 24 });
    try {
      await term.waitForScreen(/heat-bridge watch/);
      await term.send('C-c');
      assert.equal(await term.exitCode(), 0);
    } finally {
      await term.close();
    }
  });
});
