// Reads the service's /metrics the way Prometheus does: HELP, TYPE and one value per sample line.

import { HANG_MS } from './timing.js';

export interface Exposition {
  readonly text: string;
  readonly help: Map<string, string>;
  readonly type: Map<string, string>;
  /** Sample line without its value ('p27_written_total{kind="by_plan"}') → value. */
  readonly samples: Map<string, number>;
}

/** Parses the Prometheus text format (version 0.0.4) as prom-client writes it: no timestamps. */
export function parseExposition(text: string): Exposition {
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta !== null) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      (kind === 'HELP' ? help : type).set(name, rest);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return { text, help, type, samples };
}

/**
 * GET /metrics and parse it, as Prometheus scrapes it. Throws on any status but 200 and on a content
 * type other than the text format's (text/plain); rejects when nothing answers within HANG_MS.
 */
export async function scrape(metricsUrl: string): Promise<Exposition> {
  const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(HANG_MS) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${metricsUrl} answered ${response.status}: ${text.slice(0, 200)}`);
  const contentType = response.headers.get('content-type') ?? '';
  if (!contentType.startsWith('text/plain')) throw new Error(`${metricsUrl} answered as ${contentType || 'no type'}`);
  return parseExposition(text);
}

/**
 * One sample's value (exact name and label set, e.g. 'p27_errors_total{stage="write"}'). Throws when
 * the sample is not exported: every series is exported from 0, so a missing one is a bug, never 0.
 */
export async function sample(metricsUrl: string, name: string): Promise<number> {
  const value = (await scrape(metricsUrl)).samples.get(name);
  if (value === undefined) throw new Error(`${name} is not exported by ${metricsUrl}`);
  return value;
}

/** Every sample of one metric by its label set: {'reason="x"': 3}; '' for the unlabelled sample. */
export async function samplesOf(metricsUrl: string, metric: string): Promise<Record<string, number>> {
  const found: Record<string, number> = {};
  for (const [line, value] of (await scrape(metricsUrl)).samples) {
    const match = /^(\w+)(?:\{(.*)\})?$/.exec(line);
    if (match?.[1] === metric) found[match[2] ?? ''] = value;
  }
  return found;
}
