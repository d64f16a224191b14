/**
 * `npm run bench`: this module against a guard around posthog-node's isFeatureEnabled, side by side, in the
 * same run, on one Nest app; a fake PostHog on loopback with 20 ms latency. `npm run bench -- --smoke` runs a
 * few seconds only (as CI does), to check that every row is produced. A full run ends with the project-size
 * scenario of local evaluation (`bench/project-size.ts`, in a process of its own).
 */
import 'reflect-metadata';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchOptions } from './bench-types.js';
import { toMarkdown, writeResults } from './report.js';
import { runBenchmark } from './run.js';

const smoke = process.argv.includes('--smoke');
const options: BenchOptions = smoke
  ? {
      durationSeconds: 1,
      warmupSeconds: 0,
      connections: 4,
      serialSeconds: 0.5,
      rounds: 2,
      roundSeconds: 0.5,
      users: 20,
      latencyMs: 20,
      timeoutMs: 200,
      client: { rounds: 2, callsPerRound: 50 },
    }
  : {
      durationSeconds: 10,
      warmupSeconds: 3,
      connections: 10,
      serialSeconds: 3,
      rounds: 10,
      roundSeconds: 2,
      users: 200,
      latencyMs: 20,
      client: { rounds: 11, callsPerRound: 400 },
    };

const result = await runBenchmark(options, (line) => console.log(line));
const directory = fileURLToPath(new URL(smoke ? '../../.build/bench-smoke' : '../../bench/results', import.meta.url));
writeResults(result, directory);
console.log(`\n${toMarkdown(result)}\nwritten to ${directory}`);

if (!smoke) {
  console.log('');
  const script = fileURLToPath(new URL('./project-size.js', import.meta.url));
  const child = fork(script, [], { execArgv: ['--expose-gc'] });
  await new Promise((exited) => child.once('exit', exited));
}
