// A mocked setTimeout clock for unit tests of timers (backoff, the stop deadline): bounds are exact on
// any machine and no wall time is measured (issue 12 §3).

import { syncBuiltinESMExports } from 'node:module';
import type { TestContext } from 'node:test';

/**
 * Mocks setTimeout for one test, restored after it. The sync also reaches src's ESM imports of
 * node:timers/promises, which the mock alone leaves pointing at the real setTimeout.
 */
export function mockClock(t: TestContext): void {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  syncBuiltinESMExports();
  t.after(() => {
    t.mock.timers.reset();
    syncBuiltinESMExports();
  });
}

/** Lets pending promise callbacks run (setImmediate is not mocked). */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
