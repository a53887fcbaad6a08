// Whether an output stream is systemd's journal, and the syslog priority prefixes it reads. Kept free
// of the logging library so the CLI's error lines can use it without loading pino.

import { fstatSync } from 'node:fs';

/** pino level → syslog priority prefix (sd-daemon(3), SyslogLevelPrefix= in systemd.exec(5)). */
export const SYSLOG_PRIORITY = { debug: 7, info: 6, warn: 4, error: 3, fatal: 2 } as const;

/** True when file descriptor `fd` is the stream JOURNAL_STREAM names (systemd.exec(5)). */
export function isJournal(fd: 1 | 2, env: NodeJS.ProcessEnv): boolean {
  const journal = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (journal === null) return false;
  try {
    const stat = fstatSync(fd, { bigint: true });
    return stat.dev === BigInt(journal[1] as string) && stat.ino === BigInt(journal[2] as string);
  } catch {
    // No such descriptor to compare: not the journal.
    return false;
  }
}

/**
 * '<3>' (error) when stderr is the journal, else '': the CLI's error lines then file at their priority
 * like the log's (issue 10 §4; SyslogLevelPrefix= in systemd.exec(5)).
 */
export function errorLinePrefix(env: NodeJS.ProcessEnv): string {
  return isJournal(2, env) ? `<${SYSLOG_PRIORITY.error}>` : '';
}
