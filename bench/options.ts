// The bench's command line (node:util parseArgs) turned into validated options; --quick is the smoke-test size.

import { parseArgs } from 'node:util';

export const PHASES = ['drain', 'ceiling', 'latency', 'memory', 'scale', 'cluster'] as const;
export type Phase = (typeof PHASES)[number];

export interface BenchOptions {
  readonly runs: number;
  readonly count: number;
  readonly quick: boolean;
  readonly only: readonly Phase[];
  /** P27_BATCH values the drain runs with; the first is the headline figure. */
  readonly batches: readonly number[];
  readonly rates: readonly number[];
  /** P27_BATCH of the service under offered load. */
  readonly latencyBatch: number;
  readonly durationSec: number;
  readonly warmupSec: number;
  /** Also run one profiled drain (node --cpu-prof) per batch size and summarise it. */
  readonly profile: boolean;
  readonly out: string;
  /** The service's cli.js to measure; undefined = the build in dist/. */
  readonly cli: string | undefined;
  readonly help: boolean;
}

export const USAGE = `Usage: npm run bench -- [options]

  --runs N          runs per figure; each figure is the median with its range (default 3)
  --count N         decisions for drain, ceiling, memory, scale and cluster (default 100000)
  --only LIST       phases to run: drain,ceiling,latency,memory,scale,cluster (default all);
                    cluster drains on a 3-master Redis Cluster at P27_BATCH=10, paired with
                    a standalone drain at P27_BATCH=10 in the same round (run if drain does not)
  --batches LIST    P27_BATCH values for drain; the first is the headline (default 10,100,500)
  --rates LIST      offered loads for latency, msg/s (default 100,1000,5000)
  --latency-batch N P27_BATCH of the service during the latency phase (default 10)
  --duration SEC    measured seconds per offered load (default 20)
  --warmup SEC      unmeasured seconds at the same load before each measurement (default 1)
  --profile         also profile one drain per batch size with node --cpu-prof (bench/results/profiles/)
  --out PATH        JSON results file (default bench/results/latest.json)
  --cli PATH        the service's cli.js to measure, e.g. a candidate build (default dist/cli.js)
  --quick           smoke-test size: 1 run, 1,000 decisions, batch 10, 2 s per load
  -h, --help        this help
`;

export class UsageError extends Error {
  override name = 'UsageError';
}

function positive(name: string, value: string | undefined, fallback: number, integer = true): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(n > 0) || (integer && !Number.isSafeInteger(n))) {
    throw new UsageError(`--${name} ${JSON.stringify(value)}: expected a positive ${integer ? 'integer' : 'number'}`);
  }
  return n;
}

function list(name: string, value: string | undefined, fallback: readonly number[]): number[] {
  if (value === undefined) return [...fallback];
  return value.split(',').map((item) => positive(name, item.trim(), 0));
}

export function parseOptions(args: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...args],
    options: {
      runs: { type: 'string' },
      count: { type: 'string' },
      only: { type: 'string' },
      batches: { type: 'string' },
      rates: { type: 'string' },
      'latency-batch': { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      profile: { type: 'boolean', default: false },
      out: { type: 'string' },
      cli: { type: 'string' },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  const quick = values.quick;
  const only = (values.only?.split(',').map((p) => p.trim()) ?? [...PHASES]).map((phase) => {
    if (!(PHASES as readonly string[]).includes(phase)) {
      throw new UsageError(`--only ${JSON.stringify(phase)}: expected some of ${PHASES.join(',')}`);
    }
    return phase as Phase;
  });
  return {
    runs: positive('runs', values.runs, quick ? 1 : 3),
    count: positive('count', values.count, quick ? 1000 : 100_000),
    quick,
    only,
    batches: list('batches', values.batches, quick ? [10] : [10, 100, 500]),
    rates: list('rates', values.rates, [100, 1000, 5000]),
    latencyBatch: positive('latency-batch', values['latency-batch'], 10),
    durationSec: positive('duration', values.duration, quick ? 2 : 20, false),
    warmupSec: values.warmup === '0' ? 0 : positive('warmup', values.warmup, quick ? 0.5 : 1, false),
    profile: values.profile,
    out: values.out ?? new URL('results/latest.json', import.meta.url).pathname,
    cli: values.cli,
    help: values.help,
  };
}
