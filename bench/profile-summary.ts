// Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by package, and the
// inclusive time of the functions on the service's hot path.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileEntry {
  readonly name: string;
  readonly ms: number;
  readonly percent: number;
}

export interface ProfileSummary {
  readonly file: string;
  /** Sampled time, without (idle). */
  readonly busyMs: number;
  readonly idleMs: number;
  readonly selfByFunction: readonly ProfileEntry[];
  readonly selfByPackage: readonly ProfileEntry[];
  readonly inclusive: readonly ProfileEntry[];
}

/** Where a frame's code comes from: an npm package, the service (dist/), Node itself, or V8. */
export function packageOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg !== null) return pkg[1] as string;
  if (url.startsWith('node:')) return 'node (internal)';
  if (url.includes('/dist/')) return 'heat-bridge (dist)';
  return basename(url);
}

const frameName = (node: ProfileNode): string => {
  const { functionName, url, lineNumber } = node.callFrame;
  return url === ''
    ? functionName || '(anonymous)'
    : `${functionName || '(anonymous)'} ${basename(url)}:${lineNumber + 1}`;
};

const top = (totals: Map<string, number>, busy: number, limit: number): ProfileEntry[] =>
  [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, us]) => ({ name, ms: Math.round(us / 100) / 10, percent: Math.round((us / busy) * 1000) / 10 }));

/** `focus`: function names whose inclusive time to report (each counted once per stack, even when recursive). */
export function summarizeProfile(file: string, focus: readonly string[], limit = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  let idle = 0;
  let busy = 0;
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    if (node.callFrame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    byFunction.set(frameName(node), (byFunction.get(frameName(node)) ?? 0) + us);
    const pkg = packageOf(node.callFrame.url, node.callFrame.functionName);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = byId.get(at)?.callFrame.functionName ?? '';
      if (focus.includes(name) && !seen.has(name)) {
        seen.add(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + us);
      }
    }
  }
  return {
    file,
    busyMs: Math.round(busy / 1000),
    idleMs: Math.round(idle / 1000),
    selfByFunction: top(byFunction, busy, limit),
    selfByPackage: top(byPackage, busy, limit),
    inclusive: top(inclusive, busy, focus.length),
  };
}
