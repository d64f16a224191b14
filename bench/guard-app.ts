/**
 * `npm run bench:guard-app [-- --users N --rounds N]`: the time in our `@FeatureFlag` guard under local evaluation,
 * in the app, by the full run's method (the app in a process of its own on Express, 10 connections, ours and the
 * same-denials reference in turns, each guard's `canActivate` timed until it returns), in about half a minute
 * instead of the full run's quarter of an hour: for trying a change to the guard's path against the row
 * `healthy, local evaluation: time in the guard`. Run it a few times, alternating the code compared: one app
 * process reads ±1 µs from the next.
 *
 * `--users` (200, as the full run): how many users take turns. The reference keeps nothing per user; ours reads
 * each user's remembered answer, read flags and reported exposure, which the requests of the other users have
 * pushed out of the CPU's caches by the time the user comes again. With 10 users that state stays cached.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { startServer } from './app-process.js';
import type { BenchOptions } from './bench-types.js';
import { measureInTurns } from './measure.js';
import { seeEveryUser, startBenchPostHog } from './run.js';
import type { Tally } from './tally.js';

const { values } = parseArgs({ options: { users: { type: 'string' }, rounds: { type: 'string' } } });
const options: BenchOptions = {
  durationSeconds: 0,
  warmupSeconds: 2,
  connections: 10,
  serialSeconds: 0.5,
  rounds: Number(values.rounds ?? 4),
  roundSeconds: 2,
  users: Number(values.users ?? 200),
  latencyMs: 20,
  client: { rounds: 0, callsPerRound: 0 },
};
if (!(options.users >= 1 && options.rounds >= 1)) throw new TypeError('--users and --rounds: whole numbers ≥ 1');

const { posthog, users } = await startBenchPostHog(options);
const app = await startServer({ posthogUrl: posthog.url, cacheUrl: 'memory://local', localEvaluation: true });
try {
  await app.definitionsLoaded();
  await seeEveryUser(app, users);
  await app.flushEvents();
  const measured = await measureInTurns(
    app,
    { posthog, users, options },
    ['nestjs-posthog-flags', 'same denials, no lookup'],
    options.rounds,
  );
  const ours = guardMicros(measured.get('nestjs-posthog-flags')!.tally);
  const reference = guardMicros(measured.get('same denials, no lookup')!.tally);
  console.log(
    `Time in the guard, local evaluation, in the app (${options.users} users; ${options.rounds} × ` +
      `${options.roundSeconds} s each, in turns): ours ${ours.toFixed(2)} µs, same denials ${reference.toFixed(2)} µs, ` +
      `ours over it ${(ours - reference).toFixed(2)} µs (the full run's yardstick: ≤ 5 µs)`,
  );
} finally {
  await app.close();
  await posthog.stop();
}

/** The time a route's guard took per request over the tally's load, in µs. */
function guardMicros(tally: Tally): number {
  return tally.guardNanos / tally.guardCalls / 1000;
}
