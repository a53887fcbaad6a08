// Reads the service's Config from the environment over an optional env file, for `run` and every command.

import { readFileSync } from 'node:fs';
import { type Config, ConfigError, loadConfig } from './config.js';
import { EnvFileError, parseEnvFile } from './env-file.js';

/** Throws ConfigError (bad values) or EnvFileError (unreadable or malformed file). Real env vars win. */
export function readConfig(envFile: string | undefined, env: NodeJS.ProcessEnv = process.env): Config {
  let fileVars: Record<string, string> = {};
  if (envFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(envFile, 'utf8');
    } catch (error) {
      throw new EnvFileError(`cannot read ${envFile}: ${(error as Error).message}`, { cause: error });
    }
    fileVars = parseEnvFile(text, envFile);
  }
  return loadConfig({ ...fileVars, ...env });
}

/** The problems a config error stands for, one line each; [] for any other error. */
export function configProblems(error: unknown): string[] {
  if (error instanceof ConfigError) return [...error.problems];
  if (error instanceof EnvFileError) return [error.message];
  return [];
}

/** Reads config like readConfig; exits 2 listing each problem on stderr. */
export function configFrom(envFile: string | undefined, env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return readConfig(envFile, env);
  } catch (error) {
    const problems = configProblems(error);
    if (problems.length === 0) throw error;
    for (const problem of problems) process.stderr.write(`heat-bridge: config: ${problem}\n`);
    process.exit(2);
  }
}
