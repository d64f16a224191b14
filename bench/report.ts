/** The report of a run: its rows as console lines, the markdown table, the machine, and the files written. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import type { BenchResult, BenchRow, Yardstick } from './bench-types.js';

/** The machine the run is measured on. */
export function machine(): BenchResult['machine'] {
  const cores = cpus();
  return {
    cpu: cores[0]?.model ?? 'unknown',
    cores: cores.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** A row as a line of the markdown table. */
export function formatRow(row: BenchRow): string {
  const percent = (share: number | null) =>
    share === null || Number.isNaN(share) ? '–' : `${(share * 100).toFixed(1)}%`;
  const serial = row.serialP99Ms === null ? 'no answer' : row.serialP99Ms;
  return (
    `| ${row.scenario} | ${row.contender} | ${row.requestsPerSecond} | ${percent(row.ofCeiling)} | ${row.p50Ms} | ${row.p99Ms} | ` +
    `${serial} | ${row.cpuMicrosPerRequest} | ${row.upstreamCalls} | ${percent(row.lastKnownShare)} | ${row.errors} |`
  );
}

/** The results as a markdown table, headed by the machine and the run's settings. */
export function toMarkdown(result: BenchResult): string {
  const { machine: m, options: o } = result;
  return [
    `Measured on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), Node ${m.node}, ${m.platform}; ` +
      `${o.connections} connections, ${o.durationSeconds} s per row ` +
      `(rows measured in turns: ${o.rounds} rounds of ${o.roundSeconds} s each), ` +
      `then ${o.serialSeconds} s on one connection for the serial p99 (in turns as the rows) ` +
      `(the cold start: each user asked once, no serial p99), ` +
      `${o.users} users, PostHog latency ${o.latencyMs} ms` +
      `${o.timeoutMs ? `, timeouts ${o.timeoutMs} ms` : ', library default timeouts'}.`,
    '',
    '| scenario | contender | req/s | of ceiling | p50 ms | p99 ms | serial p99 ms | app CPU µs/req | upstream calls | last known value | errors |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...result.rows.map(formatRow),
    '',
    '| yardstick | target | measured | |',
    '|---|---|---|---|',
    ...result.yardsticks.map((y) => `| ${y.name} | ${y.target} | ${y.measured} | ${verdict(y)} |`),
    '',
  ].join('\n');
}

/** Writes `latest.json` and `latest.md` into `directory`. */
export function writeResults(result: BenchResult, directory: string): void {
  mkdirSync(directory, { recursive: true });
  writeFileSync(`${directory}/latest.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(`${directory}/latest.md`, toMarkdown(result));
}

/** ✓ or ✗, or `information` for a figure that is no yardstick. */
function verdict({ met }: Yardstick): string {
  if (met === undefined) return 'information';
  return met ? '✓' : '✗';
}
