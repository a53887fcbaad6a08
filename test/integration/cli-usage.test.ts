// The CLI's help, version and usage errors, for every command.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runCli } from '../support/run-process.js';

const COMMANDS = ['run', 'check-config', 'inject', 'get', 'status', 'watch', 'dlq', 'proof'];
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

test('--version prints the package version', async () => {
  const result = await runCli(['--version']);
  assert.equal(result.code, 0);
  assert.equal(result.stdout, `${version}\n`);
});

test('--help lists run and every operator command', async () => {
  const result = await runCli(['--help']);
  assert.equal(result.code, 0);
  for (const command of COMMANDS) assert.match(result.stdout, new RegExp(`^  ${command} +\\S`, 'm'));
});

test('every command prints its own help on stdout with --help and exits 0', async () => {
  const results = await Promise.all(COMMANDS.map((command) => runCli([command, '--help'])));
  for (const [i, result] of results.entries()) {
    assert.equal(result.code, 0, COMMANDS[i]);
    assert.match(result.stdout, new RegExp(`^Usage: heat-bridge ${COMMANDS[i]}`), COMMANDS[i]);
    assert.equal(result.stderr, '');
  }
});

test('an unknown command exits 2 with a hint', async () => {
  const result = await runCli(['frobnicate']);
  assert.equal(result.code, 2);
  assert.equal(result.stderr, 'heat-bridge: unknown command "frobnicate"\nTry heat-bridge --help\n');
});

test('a usage error in a subcommand exits 2 before connecting anywhere', async () => {
  const env = { REDIS_HOST: '127.0.0.1', REDIS_PORT: '1' };
  const cases = [
    ['get'],
    ['get', 'plan'],
    ['get', 'everything', 'x'],
    ['get', 'latest', 'BTC*'],
    ['dlq'],
    ['dlq', 'replay'],
    ['dlq', 'replay', '--all', '--id', '1-0'],
    ['dlq', 'replay', '--id', 'not-an-id'],
    ['status', '--limit', 'many'],
    ['proof', '--timeout', '0'],
  ];
  const results = await Promise.all(cases.map((args) => runCli(args, env)));
  for (const [i, result] of results.entries()) {
    const args = cases[i] as string[];
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, new RegExp(`Try heat-bridge ${args[0]} --help\\n$`));
  }
});

test("--help gives each command's own summary, from the list that loads it lazily", async () => {
  const result = await runCli(['--help']);
  const modules: Record<string, string> = {
    run: 'run.js',
    'check-config': 'check-config.js',
    inject: 'inject.js',
    get: 'get.js',
    status: 'status.js',
    watch: 'watch.js',
    dlq: 'dlq.js',
    proof: 'proof.js',
  };
  for (const name of COMMANDS) {
    const exported = Object.values(
      (await import(`../../src/commands/${modules[name]?.replace('.js', '.ts')}`)) as Record<string, unknown>,
    ).find((value) => (value as { name?: string } | null)?.name === name) as { summary: string } | undefined;
    assert.ok(exported, name);
    assert.match(result.stdout, new RegExp(`^  ${name} +${exported.summary.replace(/[()]/g, '\\$&')}$`, 'm'), name);
  }
});
