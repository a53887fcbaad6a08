// Reads the service's Config from the environment over an optional env file, for `run` and every command.

import { readFileSync } from 'node:fs';
import { type Config, ConfigError, DEFAULTS, type EnvName, loadConfig } from './config.js';
import { EnvFileError, parseEnvFile } from './env-file.js';

/** Where a setting's value came from; real environment variables win over the env file. */
export type SettingSource = 'environment' | 'env file' | 'default';

/** The variables loadConfig will see, with the source of each setting, before validation. */
export interface ResolvedEnv {
  readonly vars: Readonly<Record<string, string | undefined>>;
  readonly sources: ReadonlyMap<EnvName, SettingSource>;
  /** REDIS_* and P27_* names in the env file that HeatBridge does not read (most likely typos). */
  readonly unknownInFile: readonly string[];
}

const isSet = (value: string | undefined): value is string => value !== undefined && value !== '';

/** Throws EnvFileError when the file cannot be read or has a line systemd would read otherwise. */
export function resolveEnv(envFile: string | undefined, env: NodeJS.ProcessEnv = process.env): ResolvedEnv {
  let fileVars: Record<string, string> = {};
  if (envFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(envFile, 'utf8');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new EnvFileError(`cannot read ${envFile} (${reason})`, { cause: error });
    }
    fileVars = parseEnvFile(text, envFile);
  }
  const sources = new Map<EnvName, SettingSource>();
  for (const name of Object.keys(DEFAULTS) as EnvName[]) {
    sources.set(name, isSet(env[name]) ? 'environment' : isSet(fileVars[name]) ? 'env file' : 'default');
  }
  const unknownInFile = Object.keys(fileVars).filter((name) => /^(REDIS|P27)_/.test(name) && !(name in DEFAULTS));
  return { vars: { ...fileVars, ...env }, sources, unknownInFile };
}

/** Throws ConfigError (bad values) or EnvFileError (unreadable or refused file). Real env vars win. */
export function readConfig(envFile: string | undefined, env: NodeJS.ProcessEnv = process.env): Config {
  return loadConfig(resolveEnv(envFile, env).vars);
}

/** The problems a config error stands for, one line each; [] for any other error. */
export function configProblems(error: unknown): string[] {
  if (error instanceof ConfigError) return [...error.problems];
  if (error instanceof EnvFileError) return [error.message];
  return [];
}
