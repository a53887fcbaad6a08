// The deployment files: env file, systemd unit (systemd-analyze), installer (into a temp root, then run
// from there), Prometheus rules (promtool), Grafana dashboard (against the live /metrics), changelog.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEFAULTS, loadConfig } from '../../src/config.js';
import { parseEnvFile } from '../../src/env-file.js';
import { VERSION } from '../../src/version.js';
import { freePort } from '../support/free-port.js';
import { fetchHealth } from '../support/health-document.js';
import { scrape } from '../support/metrics-text.js';
import { RedisServer } from '../support/redis-server.js';
import { cleanEnv, ROOT, runProcess } from '../support/run-process.js';
import { type InProcessService, startInProcess } from '../support/service.js';
import { waitFor } from '../support/wait-for.js';

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const ENV_FILE = 'deployment/config/heat-bridge.env';
const UNIT = 'deployment/systemd/quantum-heat-bridge.service';
const RULES = 'deployment/prometheus/heat-bridge-alerts.yml';
const DASHBOARD = 'deployment/grafana/heat-bridge.json';
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template.
const DATASOURCE_REF = '${datasource}';

describe('deployment/config/heat-bridge.env', () => {
  const text = read(ENV_FILE);
  const vars = parseEnvFile(text);

  test('sets every variable the service reads, to its default', () => {
    assert.deepEqual(Object.keys(vars).sort(), Object.keys(DEFAULTS).sort());
    for (const [name, value] of Object.entries(DEFAULTS)) assert.equal(vars[name], value, name);
    assert.deepEqual(loadConfig(vars), loadConfig({}));
  });

  test('says, commented, what P27_HTTP_HOST to set for a Prometheus on another host', () => {
    const block = text.slice(
      text.lastIndexOf('\n\n', text.indexOf('\nP27_HTTP_HOST=')),
      text.indexOf('\nP27_HTTP_HOST='),
    );
    assert.match(block, /Prometheus or load balancer on another host/);
    assert.match(block, /original service listened on all addresses/);
    const example = /^# P27_HTTP_HOST=(\S+)$/m.exec(block);
    assert.ok(example, 'a commented example setting');
    assert.equal(loadConfig({ P27_HTTP_HOST: example[1] as string }).httpHost, '0.0.0.0');
    assert.equal(vars.P27_HTTP_HOST, '127.0.0.1');
  });

  test('puts a one-line comment above every variable and none after a value, as systemd needs', () => {
    const lines = text.split('\n');
    for (const [i, line] of lines.entries()) {
      if (!/^[A-Z_0-9]+=/.test(line)) continue;
      assert.match(lines[i - 1] ?? '', /^# \S/, `comment above ${line}`);
      assert.doesNotMatch(line, /\s#/, `no trailing comment on ${line}`);
    }
  });
});

/** A copy of the unit whose paths point into dir, where a stand-in ExecStart script and env file exist. */
function unitCopy(dir: string): string {
  const app = join(dir, 'opt');
  mkdirSync(join(app, 'dist'), { recursive: true });
  writeFileSync(join(app, 'dist/cli.js'), '');
  copyFileSync(process.execPath, join(dir, 'node'));
  chmodSync(join(dir, 'node'), 0o755);
  writeFileSync(join(dir, 'heat-bridge.env'), read(ENV_FILE));
  const unit = read(UNIT)
    .replaceAll('/usr/bin/node', join(dir, 'node'))
    .replaceAll('/opt/quantum/heat-bridge', app)
    .replaceAll('/etc/quantum/heat-bridge.env', join(dir, 'heat-bridge.env'));
  const path = join(dir, 'quantum-heat-bridge.service');
  writeFileSync(path, unit);
  return path;
}

describe('deployment/systemd/quantum-heat-bridge.service', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'heat-bridge-unit-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const directives = new Map<string, string[]>();
  for (const line of read(UNIT).split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (match) directives.set(match[1] as string, [...(directives.get(match[1] as string) ?? []), match[2] as string]);
  }
  const one = (name: string) => directives.get(name)?.at(-1);

  test('runs the built service with node under a dedicated user, from the env file, restarting always', () => {
    assert.equal(one('EnvironmentFile'), '/etc/quantum/heat-bridge.env');
    assert.equal(one('ExecStart'), '/usr/bin/node /opt/quantum/heat-bridge/dist/cli.js run');
    assert.equal(one('Restart'), 'always');
    assert.match(one('RestartSec') ?? '', /^\d+$/);
    // A config or deployment problem (exit 2) fails the unit at once instead of ten restarts.
    assert.equal(one('RestartPreventExitStatus'), '2');
    // journald files each line by the <N> priority the service writes when JOURNAL_STREAM is its stdout.
    assert.equal(one('SyslogLevelPrefix'), 'yes');
    assert.equal(one('User'), 'quantum-heat-bridge');
    assert.equal(one('Group'), 'quantum-heat-bridge');
    assert.equal(one('TimeoutStopSec'), '15');
    assert.equal(one('KillSignal'), 'SIGTERM');
    assert.equal(one('WantedBy'), 'multi-user.target');
  });

  test('is hardened and bounded', () => {
    assert.equal(one('NoNewPrivileges'), 'yes');
    assert.equal(one('ProtectSystem'), 'strict');
    assert.equal(one('ProtectHome'), 'yes');
    assert.equal(one('PrivateTmp'), 'yes');
    assert.equal(one('PrivateDevices'), 'yes');
    assert.equal(one('RestrictAddressFamilies'), 'AF_INET AF_INET6 AF_UNIX');
    assert.equal(one('CapabilityBoundingSet'), '');
    assert.match(one('MemoryMax') ?? '', /^\d+[KMG]$/);
  });

  test('passes systemd-analyze verify without a warning', async () => {
    const result = await runProcess('systemd-analyze', ['verify', unitCopy(dir)]);
    assert.equal(result.stderr, '');
    assert.equal(result.code, 0);
  });

  test('systemd-analyze verify catches a broken unit, so the check above can fail', async () => {
    const path = unitCopy(dir);
    writeFileSync(path, readFileSync(path, 'utf8').replace('Restart=always', 'Restart=sometimes'));
    const result = await runProcess('systemd-analyze', ['verify', path]);
    assert.match(result.stderr, /Failed to parse service restart specifier/);
  });

  test('rates OK or better in systemd-analyze security', async () => {
    const result = await runProcess('systemd-analyze', ['security', '--offline=yes', unitCopy(dir)]);
    const exposure = Number(/Overall exposure level for .*: (\d+\.\d+)/.exec(result.stdout)?.[1]);
    assert.ok(exposure <= 2, `exposure ${exposure}\n${result.stdout.slice(-400)}`);
  });
});

describe('scripts/install.sh', () => {
  let target: string;
  let server: RedisServer;
  let service: ChildProcess | undefined;
  const INSTALL = join(ROOT, 'scripts/install.sh');

  before(async () => {
    target = mkdtempSync(join(tmpdir(), 'heat-bridge-root-'));
    server = await RedisServer.start();
  });
  after(async () => {
    if (service !== undefined && service.exitCode === null) {
      const exited = new Promise((resolve) => service?.once('exit', resolve));
      service.kill('SIGTERM');
      await exited;
    }
    await server.stop();
    rmSync(target, { recursive: true, force: true });
  });

  const app = () => join(target, 'opt/quantum/heat-bridge');
  const envPath = () => join(target, 'etc/quantum/heat-bridge.env');

  test('installs the application, a mode-600 config and the unit, printing the systemctl steps', async () => {
    const result = await runProcess('bash', [INSTALL, target], { timeoutMs: 180_000 });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(readFileSync(envPath(), 'utf8'), read(ENV_FILE));
    assert.equal(statSync(envPath()).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(target, 'etc/systemd/system/quantum-heat-bridge.service'), 'utf8'), read(UNIT));
    for (const line of [
      'install: would run: systemctl daemon-reload',
      'install: would run: systemctl enable quantum-heat-bridge',
      'install: would run: systemctl restart quantum-heat-bridge',
    ]) {
      assert.ok(result.stdout.split('\n').includes(line), line);
    }
    const scripts = readdirSync(new URL('../../src/redis/scripts/', import.meta.url)).filter((f) => f.endsWith('.lua'));
    assert.ok(scripts.includes('read-entries.lua') && scripts.includes('consume.lua'), scripts.join(' '));
    for (const path of [
      'dist/cli.js',
      ...scripts.map((f) => `dist/redis/scripts/${f}`),
      'dist/redis/scripts/includes/apply-one.lua',
      'bin/heat-bridge.js',
      'node_modules/ioredis',
      'node_modules/pino',
      'node_modules/prom-client',
      'scripts/proof_p27_heat_bridge.sh',
    ]) {
      assert.ok(existsSync(join(app(), path)), path);
    }
    for (const dev of ['typescript', 'tsx', '@biomejs']) assert.ok(!existsSync(join(app(), 'node_modules', dev)), dev);
  });

  test('never overwrites an existing config', async () => {
    writeFileSync(envPath(), 'REDIS_HOST=redis.internal\n');
    const result = await runProcess('bash', [INSTALL, '--no-start', target], { timeoutMs: 180_000 });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(readFileSync(envPath(), 'utf8'), 'REDIS_HOST=redis.internal\n');
    assert.match(result.stdout, /keeping the existing .*heat-bridge\.env/);
    assert.match(result.stdout, /not started \(--no-start\)/);
    assert.doesNotMatch(result.stdout, /systemctl restart/);
  });

  test('refuses a missing target root with exit 2', async () => {
    const result = await runProcess('bash', [INSTALL, join(target, 'nope')]);
    assert.equal(result.code, 2);
    const none = await runProcess('bash', [INSTALL]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /usage: .*install\.sh \[--no-start\] TARGET_ROOT/);
  });

  test('the installed copy runs: configure, start, inject, get, and pass the proof script', async () => {
    // Configure, as the README says: edit the env file.
    const ports = { metrics: await freePort(), health: await freePort() };
    const config = read(ENV_FILE)
      .replace(/^REDIS_HOST=.*$/m, 'REDIS_HOST=127.0.0.1')
      .replace(/^REDIS_PORT=.*$/m, `REDIS_PORT=${server.port}`)
      .replace(/^P27_METRICS_PORT=.*$/m, `P27_METRICS_PORT=${ports.metrics}`)
      .replace(/^P27_HEALTH_PORT=.*$/m, `P27_HEALTH_PORT=${ports.health}`);
    writeFileSync(envPath(), config);
    // Start it the way the unit does, from any directory, with only the env file.
    const child = spawn(process.execPath, ['--', join(app(), 'dist/cli.js'), 'run', '--env-file', envPath()], {
      cwd: '/',
      env: cleanEnv(),
      stdio: 'ignore',
    });
    service = child;
    const healthUrl = `http://127.0.0.1:${ports.health}/health`;
    await waitFor(async () => (await fetchHealth(healthUrl)).status === 'ok', {
      what: 'the installed service healthy',
    });

    const cli = join(app(), 'bin/heat-bridge.js');
    const injected = await runProcess(
      cli,
      ['inject', '--env-file', envPath(), '--symbol', 'INSTUSDT', '--plan_id', 'installed_1'],
      { cwd: '/' },
    );
    assert.equal(injected.code, 0, injected.stderr);
    const got = await waitFor(
      async () => {
        const r = await runProcess(cli, ['get', 'pointer', 'INSTUSDT', '--json', '--env-file', envPath()]);
        return r.code === 0 ? (JSON.parse(r.stdout) as { plan_id: string }) : undefined;
      },
      { what: 'the injected decision applied' },
    );
    assert.equal(got.plan_id, 'installed_1');

    // The env file read by HeatBridge's own parser, never sourced into a shell (issue 10 §1).
    const proof = await runProcess('bash', [join(app(), 'scripts/proof_p27_heat_bridge.sh'), '--env-file', envPath()]);
    assert.equal(proof.code, 0, proof.stdout + proof.stderr);
    assert.match(proof.stdout, /✅ SUMMARY: PASS \(all tests passed\)/);
  });

  test('a downstream service imports HeatDecisionReader from the installed package by name', async () => {
    // What `npm install /opt/quantum/heat-bridge` gives a consumer: node_modules/heat-bridge → the app.
    const consumer = join(target, 'consumer');
    mkdirSync(join(consumer, 'node_modules'), { recursive: true });
    symlinkSync(app(), join(consumer, 'node_modules/heat-bridge'));
    // Reached through the installed package's own ioredis, as a consumer without its own would.
    writeFileSync(
      join(consumer, 'read.mjs'),
      `import { HeatDecisionReader } from 'heat-bridge';
import { createRequire } from 'node:module';
const { Redis } = createRequire(import.meta.resolve('heat-bridge'))('ioredis');
const redis = new Redis({ host: '127.0.0.1', port: ${server.port} });
const reader = new HeatDecisionReader(redis);
console.log(JSON.stringify({ planId: await reader.latestPlanId('INSTUSDT'), many: [...(await reader.latestMany(['INSTUSDT'])).keys()] }));
redis.disconnect();
`,
    );
    const result = await runProcess(process.execPath, [join(consumer, 'read.mjs')], { cwd: consumer });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { planId: 'installed_1', many: ['INSTUSDT'] });
  });
});

test("the README's operations section shows watch, /livez, /readyz, the age alert and dlq purge", () => {
  const readme = read('README.md');
  const start = readme.indexOf('## Operations');
  const operations = readme.slice(start, readme.indexOf('\n## ', start + 1));
  for (const needle of [
    'heat-bridge watch',
    'localhost:8071/livez',
    'localhost:8071/readyz',
    'HeatBridgeDecisionsStale',
    'p27_last_decision_age_seconds',
    'heat-bridge dlq purge',
  ]) {
    assert.ok(operations.includes(needle), needle);
  }
});

describe('deployment/prometheus/heat-bridge-alerts.yml', () => {
  test('passes promtool check rules with all eight alerts', async () => {
    const result = await runProcess('promtool', ['check', 'rules', join(ROOT, RULES)]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /SUCCESS: 8 rules found/);
    const names = [...read(RULES).matchAll(/^\s+- alert: (\w+)$/gm)].map((m) => m[1]);
    assert.deepEqual(names, [
      'HeatBridgeDown',
      'HeatBridgeNoProgress',
      'HeatBridgeErrors',
      'HeatBridgeLagHigh',
      'HeatBridgeDeadLetters',
      'HeatBridgeRedisUnreachable',
      'HeatBridgeDecisionsStale',
      'HeatBridgeDeadLetterBacklog',
    ]);
  });

  test('fires each alert exactly when its promtool unit test says', async () => {
    const result = await runProcess('promtool', ['test', 'rules', 'heat-bridge-alerts.test.yml'], {
      cwd: join(ROOT, 'deployment/prometheus'),
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /SUCCESS/);
  });
});

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
]);

/** Metric names a PromQL expression selects: identifiers that are not functions, keywords or labels. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  for (const match of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = bare.slice((match.index ?? 0) + match[0].length).trimStart();
    if (!after.startsWith('(') && !KEYWORDS.has(match[0])) names.push(match[0]);
  }
  return names;
}

describe('metrics as exposed, with the dashboard and promtool', () => {
  let server: RedisServer;
  let bridge: InProcessService;
  let metricsText: string;
  let exposed: Set<string>;

  before(async () => {
    server = await RedisServer.start();
    bridge = await startInProcess(server.env);
    const exposition = await scrape(bridge.metricsUrl);
    metricsText = exposition.text;
    exposed = new Set(['up']); // written by Prometheus for every scrape target
    for (const [name, type] of exposition.type) {
      exposed.add(name);
      if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exposed.add(`${name}${suffix}`);
    }
  });
  after(async () => {
    await bridge.stop();
    await server.stop();
  });

  test('metricNames finds the selected metrics of an expression', () => {
    assert.deepEqual(
      metricNames(
        'histogram_quantile(0.95, sum by (le) (rate(p27_processing_seconds_bucket{job=~"$job"}[$__rate_interval])))',
      ),
      ['p27_processing_seconds_bucket'],
    );
    assert.deepEqual(metricNames('p27_lag_ms / 1000 > 30 and p27_backlog > 0'), ['p27_lag_ms', 'p27_backlog']);
  });

  test('the live /metrics passes promtool check metrics apart from the spec-mandated p27_lag_ms', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'heat-bridge-metrics-')), 'metrics.txt');
    writeFileSync(path, metricsText);
    const result = await runProcess('bash', ['-c', `promtool check metrics < '${path}'`]);
    const problems = (result.stdout + result.stderr).split('\n').filter((l) => l.trim() !== '');
    assert.deepEqual(
      problems.filter((l) => !l.startsWith('p27_lag_ms ')),
      [],
    );
  });

  test('the dashboard is importable JSON with a Prometheus datasource variable used by every panel', () => {
    const dashboard = JSON.parse(read(DASHBOARD)) as {
      uid: string;
      title: string;
      templating: { list: { name: string; type: string; query: unknown }[] };
      panels: {
        type: string;
        title: string;
        datasource?: { uid: string };
        targets?: { expr: string; datasource: { uid: string } }[];
      }[];
    };
    assert.equal(dashboard.uid, 'quantum-heat-bridge');
    const variable = dashboard.templating.list.find((v) => v.type === 'datasource');
    assert.equal(variable?.name, 'datasource');
    assert.equal(variable?.query, 'prometheus');
    const panels = dashboard.panels.filter((p) => p.type !== 'row');
    assert.ok(panels.length >= 10);
    for (const panel of panels) {
      assert.equal(panel.datasource?.uid, DATASOURCE_REF, panel.title);
      assert.ok((panel.targets ?? []).length > 0, panel.title);
      for (const target of panel.targets ?? []) assert.equal(target.datasource.uid, DATASOURCE_REF, panel.title);
    }
  });

  test('every dashboard query selects only metrics the live /metrics exposes, covering each required view', () => {
    const dashboard = JSON.parse(read(DASHBOARD)) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const used = new Set<string>();
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) {
        const names = metricNames(target.expr);
        assert.ok(names.length > 0, `${panel.title}: ${target.expr}`);
        for (const name of names) {
          assert.ok(exposed.has(name), `${panel.title}: ${name} is not exposed by /metrics`);
          used.add(name);
        }
      }
    }
    for (const required of [
      'p27_in_messages_total',
      'p27_written_total',
      'p27_lag_ms',
      'p27_backlog',
      'p27_processing_seconds_bucket',
      'p27_errors_total',
      'p27_dedupe_skips_total',
      'p27_stale_skips_total',
      'p27_rejected_total',
      'p27_last_decision_age_seconds',
      'p27_dlq_length',
      'process_resident_memory_bytes',
      'process_cpu_seconds_total',
    ]) {
      assert.ok(used.has(required), `the dashboard shows ${required}`);
    }
  });

  test('every alert rule selects only exposed metrics', () => {
    const exprs = [...read(RULES).matchAll(/expr: \|\n((?:\s{10}.*\n)+)|expr: (.*)/g)].map(
      (m) => (m[1] ?? m[2]) as string,
    );
    assert.equal(exprs.length, 8);
    for (const expr of exprs) for (const name of metricNames(expr)) assert.ok(exposed.has(name), `${name} in ${expr}`);
  });

  test('the version is the same in package.json, /health, p27_build_info and the changelog', async () => {
    const pkg = JSON.parse(read('package.json')) as { version: string };
    assert.equal(VERSION, pkg.version);
    const health = await fetchHealth(bridge.healthUrl);
    assert.equal(health.version, pkg.version);
    assert.match(
      metricsText,
      new RegExp(
        `^p27_build_info\\{version="${pkg.version.replaceAll('.', '\\.')}",node_version="v[\\d.]+"\\} 1$`,
        'm',
      ),
    );
    const changelog = read('CHANGELOG.md');
    // The spec's version table; the formatter pads its cells.
    assert.match(changelog, /^\| Version +\| Date +\| Changes +\|$/m);
    assert.match(
      changelog,
      /^\| 1\.0\.0 +\| 2025-01-15 \| Initial release: stream consumer, lookup keys, dedup, metrics +\|$/m,
    );
    assert.match(
      changelog,
      new RegExp(`^\\| ${pkg.version.replaceAll('.', '\\.')} +\\| \\d{4}-\\d{2}-\\d{2} \\| .+ \\|$`, 'm'),
    );
    assert.match(changelog, new RegExp(`^## ${pkg.version.replaceAll('.', '\\.')} `, 'm'));
  });
});
