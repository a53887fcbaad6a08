// `heat-bridge check-config`: validates the settings offline (no Redis) and prints them with secrets masked.

import { DEFAULTS, describeRedis, type EnvName, loadConfig } from '../config.js';
import { resolveEnv, type SettingSource } from '../config-from.js';
import { COMMON_OPTIONS } from './command-args.js';
import { defineCommand } from './define-command.js';
import { renderTable } from './table.js';

const USAGE = `Usage: heat-bridge check-config [options]

Reads the settings (REDIS_*, P27_*) from the environment and --env-file exactly as the service
reads them under systemd, validates them without contacting Redis, and prints each setting with
where it came from (environment, env file, default). Passwords are masked. Exit 0 when the
service would start with them, 2 with one line per problem otherwise.

  --env-file PATH   read KEY=VALUE settings from PATH (real environment variables win)
  --json            print {"ok", "settings": {NAME: {"value", "source"}}, "redis"} on stdout
  -h, --help        show this help
`;

const MASK = '********';
/** Whole-value secrets; REDIS_URL's password part is masked separately. */
const SECRETS: ReadonlySet<EnvName> = new Set(['REDIS_PASSWORD', 'REDIS_SENTINEL_PASSWORD']);

/** The value as it may be shown: secrets replaced by a fixed mask (their length is not shown either). */
export function maskSetting(name: EnvName, value: string): string {
  if (value === '') return value;
  if (SECRETS.has(name)) return MASK;
  if (name !== 'REDIS_URL') return value;
  try {
    const url = new URL(value);
    if (url.password === '') return value;
    url.password = MASK;
    return url.href.replace(/\/$/, '');
  } catch {
    // Unparseable: a config problem anyway; show nothing that may be a password.
    return MASK;
  }
}

interface Setting {
  readonly value: string;
  readonly source: SettingSource;
}

export const checkConfig = defineCommand({
  name: 'check-config',
  summary: 'validate the settings offline (no Redis) and print them, passwords masked',
  usage: USAGE,
  options: COMMON_OPTIONS,
  async run({ values, ctx }) {
    const resolved = resolveEnv(values['env-file'], ctx.env);
    // Throws ConfigError: runCommand prints one line per problem and exits 2.
    const config = loadConfig(resolved.vars);
    const settings: Record<string, Setting> = {};
    for (const name of Object.keys(DEFAULTS) as EnvName[]) {
      const source = resolved.sources.get(name) ?? 'default';
      const value = source === 'default' ? DEFAULTS[name] : (resolved.vars[name] ?? '');
      settings[name] = { value: maskSetting(name, value), source };
    }
    for (const name of resolved.unknownInFile) {
      ctx.stderr.write(
        `heat-bridge check-config: warning: ${name} in the env file is not a HeatBridge setting (ignored)\n`,
      );
    }
    for (const name of SECRETS) {
      if (/[ \t]#/.test(resolved.vars[name] ?? '')) {
        ctx.stderr.write(
          `heat-bridge check-config: warning: ${name} contains " #": if that is a comment, systemd keeps inline comments: put the comment on its own line\n`,
        );
      }
    }
    const redis = describeRedis(config.redis);
    if (values.json) {
      ctx.stdout.write(`${JSON.stringify({ ok: true, settings, redis })}\n`);
    } else {
      const rows = Object.entries(settings).map(([name, s]) => [`${name}=${s.value}`, s.source]);
      ctx.stdout.write(renderTable(rows));
      ctx.stderr.write(
        `heat-bridge check-config: settings valid (Redis not contacted); the service would connect to ${redis}\n`,
      );
    }
    return 0;
  },
});
