// Starts the service as a child process and returns once it serves HTTP. A child that dies during
// start-up fails the test with its stderr and last log lines; one that lost its "free" port to
// another process in between (freePort can only promise the port was free a moment ago) is retried.

import { type ChildService, startChild } from './service.js';
import { waitFor } from './wait-for.js';

const hasExited = (c: ChildService) => c.child.exitCode !== null || c.child.signalCode !== null;

async function answers(url: string): Promise<boolean> {
  try {
    await (await fetch(url, { signal: AbortSignal.timeout(2000) })).text();
    return true;
  } catch {
    return false;
  }
}

export async function startReadyChild(env: Record<string, string>, timeoutMs = 30_000): Promise<ChildService> {
  for (let attempt = 1; ; attempt++) {
    const child = await startChild(env);
    let outcome: 'ready' | 'exited';
    try {
      outcome = await waitFor(
        async () => {
          if (hasExited(child)) return 'exited' as const;
          return (await answers(child.healthUrl)) && (await answers(child.metricsUrl)) ? ('ready' as const) : undefined;
        },
        { timeoutMs, intervalMs: 50, what: 'heat-bridge to serve /health and /metrics' },
      );
    } catch (error) {
      await child.kill('SIGKILL');
      throw new Error(`${(error as Error).message}; stderr: ${child.stderr.join('')}`, { cause: error });
    }
    if (outcome === 'ready') return child;
    const output = `${child.stderr.join('')}${child.logs
      .slice(-5)
      .map((l) => JSON.stringify(l))
      .join('\n')}`;
    if (attempt < 3 && output.includes('EADDRINUSE')) continue;
    throw new Error(`heat-bridge exited during start-up (code ${child.child.exitCode}): ${output}`);
  }
}
