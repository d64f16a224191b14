import autocannon from 'autocannon';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FakePostHog } from '../test/support/fake-posthog.js';
import type { BenchApp, BenchAppOptions } from './contenders.js';

const SERVER = fileURLToPath(new URL('./server.js', import.meta.url));

/** Starts the benchmark app in a child process (see `server.ts`). */
function startServer(options: BenchAppOptions): Promise<BenchApp> {
  const child = fork(SERVER, [JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the benchmark app exited (${code}) before it was ready`)));
    child.once('message', (message) => {
      child.removeAllListeners('exit');
      resolve({
        url: (message as { url: string }).url,
        close: () =>
          new Promise<void>((closed) => {
            child.once('exit', () => closed());
            child.send('close');
          }),
      });
    });
  });
}

/** How a benchmark run is sized. */
export interface BenchOptions {
  /** Seconds of load per contender and scenario. */
  durationSeconds: number;
  /** Seconds of unmeasured load first (JIT warm-up). */
  warmupSeconds: number;
  /** Concurrent connections of the load. */
  connections: number;
  /** Distinct users; even ones have the flag on, odd ones off. */
  users: number;
  /** Milliseconds PostHog takes to answer. */
  latencyMs: number;
  /** Per-attempt timeout of both contenders; undefined: their defaults (3 s). */
  timeoutMs?: number;
}

/** One contender in one scenario. */
export interface BenchRow {
  scenario: string;
  contender: 'nestjs-posthog-flags' | 'posthog-node guard' | 'unguarded';
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** `/flags` calls PostHog received during the measurement. */
  upstreamCalls: number;
  /** Share of responses that match each user's last known flag value (200 for on, 404 for off). */
  lastKnownShare: number | null;
  requests: number;
  errors: number;
}

/** A whole run: the rows and the machine they were measured on. */
export interface BenchResult {
  machine: { cpu: string; cores: number; memoryGiB: number; node: string; platform: string };
  options: BenchOptions;
  rows: BenchRow[];
}

/** What PostHog does in a scenario, and the fallback cache URL our module uses in it. */
interface Scenario {
  name: string;
  cacheUrl: string;
  outage?: (posthog: FakePostHog) => Promise<void>;
}

const SCENARIOS: Scenario[] = [
  { name: 'healthy', cacheUrl: 'memory://local' },
  {
    name: 'PostHog hanging',
    cacheUrl: 'memory://local',
    outage: async (posthog) => {
      posthog.answer = 'hang';
    },
  },
  { name: 'PostHog refusing', cacheUrl: 'memory://local', outage: (posthog) => posthog.refuse() },
  { name: 'healthy, fresh=5', cacheUrl: 'memory://local?fresh=5' },
];

/** Runs every scenario for both contenders, plus the unguarded route as the ceiling. */
export async function runBenchmark(options: BenchOptions, log: (line: string) => void = () => {}): Promise<BenchResult> {
  const users = Array.from({ length: options.users }, (_, index) => `user-${index}`);
  const posthog = await FakePostHog.start();
  posthog.latencyMs = options.latencyMs;
  posthog.setFlags({ beta: { enabled: true } });
  users.forEach((user, index) => posthog.setFlags({ beta: { enabled: index % 2 === 0 } }, user));
  const rows: BenchRow[] = [];
  try {
    for (const scenario of SCENARIOS) {
      const app = await startServer({ posthogUrl: posthog.url, cacheUrl: scenario.cacheUrl, timeoutMs: options.timeoutMs });
      try {
        await seeEveryUser(app, users);
        await scenario.outage?.(posthog);
        if (scenario.outage) await openTheBreaker(app, users);
        for (const [contender, path] of [
          ['nestjs-posthog-flags', '/ours'],
          ['posthog-node guard', '/posthog-node'],
        ] as const) {
          rows.push(await measure(scenario.name, contender, app, path, posthog, users, options));
          log(formatRow(rows[rows.length - 1]));
        }
      } finally {
        if (!(await isListening(posthog))) await posthog.accept();
        posthog.answer = 'flags';
        await app.close();
      }
    }
    const app = await startServer({ posthogUrl: posthog.url, cacheUrl: 'memory://local' });
    try {
      rows.push(await measure('unguarded (ceiling)', 'unguarded', app, '/unguarded', posthog, users, options));
      log(formatRow(rows[rows.length - 1]));
    } finally {
      await app.close();
    }
  } finally {
    await posthog.stop();
  }
  return { machine: machine(), options, rows };
}

/** Every user asks once on both guarded routes while PostHog is healthy: their last known values. */
async function seeEveryUser(app: BenchApp, users: string[]): Promise<void> {
  await Promise.all(
    users.flatMap((user) => ['/ours', '/posthog-node'].map((path) => fetch(`${app.url}${path}`, { headers: { 'x-user': user } }))),
  );
}

/** Enough failing requests, concurrently, for our circuit breaker to open (its default threshold is 5). */
async function openTheBreaker(app: BenchApp, users: string[]): Promise<void> {
  await Promise.all(users.slice(0, 5).map((user) => fetch(`${app.url}/ours`, { headers: { 'x-user': `warmup-${user}` } })));
}

async function isListening(posthog: FakePostHog): Promise<boolean> {
  try {
    await fetch(`${posthog.url}/health`);
    return true;
  } catch {
    return false;
  }
}

/** Loads one route for the duration and tallies latency, upstream calls and last-known matches. */
async function measure(
  scenario: string,
  contender: BenchRow['contender'],
  app: BenchApp,
  path: string,
  posthog: FakePostHog,
  users: string[],
  options: BenchOptions,
): Promise<BenchRow> {
  if (options.warmupSeconds > 0) {
    await autocannon({ url: app.url, connections: options.connections, duration: options.warmupSeconds, requests: [{ path, headers: { 'x-user': users[0] } }] });
  }
  const callsBefore = posthog.requests.length;
  let next = 0;
  let matches = 0;
  let answered = 0;
  const result = await autocannon({
    url: app.url,
    connections: options.connections,
    duration: options.durationSeconds,
    timeout: 20,
    requests: [
      {
        method: 'GET',
        path,
        setupRequest: (request, context) => {
          const index = next++ % users.length;
          (context as { index?: number }).index = index;
          return { ...request, headers: { ...request.headers, 'x-user': users[index] } };
        },
        onResponse: (status, _body, context) => {
          answered++;
          const on = ((context as { index?: number }).index ?? 0) % 2 === 0;
          if ((on && status === 200) || (!on && status === 404)) matches++;
        },
      },
    ],
  });
  return {
    scenario,
    contender,
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    upstreamCalls: posthog.requests.length - callsBefore,
    lastKnownShare: contender === 'unguarded' ? null : answered ? matches / answered : 0,
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
  };
}

function machine(): BenchResult['machine'] {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

function formatRow(row: BenchRow): string {
  const share = row.lastKnownShare === null ? '–' : `${(row.lastKnownShare * 100).toFixed(1)}%`;
  return `| ${row.scenario} | ${row.contender} | ${row.requestsPerSecond} | ${row.p50Ms} | ${row.p99Ms} | ${row.upstreamCalls} | ${share} | ${row.errors} |`;
}

/** The results as a markdown table, headed by the machine and the run's settings. */
export function toMarkdown(result: BenchResult): string {
  const { machine: m, options: o } = result;
  return [
    `Measured on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), Node ${m.node}, ${m.platform}; ` +
      `${o.connections} connections, ${o.durationSeconds} s per row, ${o.users} users, PostHog latency ${o.latencyMs} ms` +
      `${o.timeoutMs ? `, timeouts ${o.timeoutMs} ms` : ', library default timeouts'}.`,
    '',
    '| scenario | contender | req/s | p50 ms | p99 ms | upstream calls | last known value | errors |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...result.rows.map(formatRow),
    '',
  ].join('\n');
}

/** Writes `latest.json` and `latest.md` into `directory`. */
export function writeResults(result: BenchResult, directory: string): void {
  mkdirSync(directory, { recursive: true });
  writeFileSync(`${directory}/latest.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(`${directory}/latest.md`, toMarkdown(result));
}
