// A temporary directory for one describe: created when the describe is defined, removed by its after hook.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** The path of a fresh directory under the OS temp dir, named with `prefix`; removed with its contents after the describe. */
export function tempDirFixture(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
