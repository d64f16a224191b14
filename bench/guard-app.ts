/**
 * `npm run bench:guard-app [-- --users N --rounds N]`: the time in our `@FeatureFlag` guard under local evaluation,
 * in the app, as the full run measures it (the app in a process of its own on Express, 10 connections, ours and the
 * same-denials reference in turns, each guard's `canActivate` timed until it returns; without the full run's third
 * route, posthog-node's, and in 4 rounds instead of 10), in about half a minute instead of the full run's quarter of
 * an hour: for trying a change to the guard's path against the row `healthy, local evaluation: time in the guard`.
 * Prints each guard's time over all rounds, and ours over the reference's as the full run judges it: the median of
 * the rounds' differences. Run it a few times, alternating the code compared: one app process reads ±1 µs from the
 * next. It fails, rather than print a time, when a request failed, was answered wrong, or asked PostHog for flags.
 *
 * `--users` (200, as the full run): how many users take turns. The reference keeps nothing per user; ours reads
 * each user's remembered answer, read flags and reported exposure, which the requests of the other users have
 * pushed out of the CPU's caches by the time the user comes again. With 10 users that state stays cached.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { startServer, type BenchServer } from './app-process.js';
import type { BenchOptions, Contender } from './bench-types.js';
import { measureInTurns } from './measure.js';
import { seeEveryUser, startBenchPostHog } from './run.js';
import type { Tally } from './tally.js';
import { guardOver, pairedMedian } from './judge.js';

const { values } = parseArgs({ options: { users: { type: 'string' }, rounds: { type: 'string' } } });
const options: BenchOptions = {
  durationSeconds: 0,
  warmupSeconds: 2,
  connections: 10,
  serialSeconds: 0.5,
  rounds: wholeNumber('--rounds', values.rounds ?? '4', 100),
  roundSeconds: 2,
  users: wholeNumber('--users', values.users ?? '200', 100_000),
  latencyMs: 20,
  client: { rounds: 0, callsPerRound: 0 },
};
const CONTENDERS: Contender[] = ['nestjs-posthog-flags', 'same denials, no lookup'];

const { posthog, users } = await startBenchPostHog(options);
let app: BenchServer | undefined;
try {
  app = await startServer({ posthogUrl: posthog.url, cacheUrl: 'memory://local', localEvaluation: true });
  await app.definitionsLoaded();
  await seeEveryUser(app, users);
  await app.flushEvents();
  const measured = await measureInTurns(app, { posthog, users, options }, CONTENDERS, options.rounds);
  const [ours, reference] = CONTENDERS.map((contender) => guardMicros(contender, measured.get(contender)!.tally));
  const [oursRounds, referenceRounds] = CONTENDERS.map((contender) => measured.get(contender)!.rounds);
  const over = pairedMedian(oursRounds!, referenceRounds!, guardOver);
  console.log(
    `Time in the guard, local evaluation, in the app (${options.users} users; ${options.rounds} × ` +
      `${options.roundSeconds} s each, in turns): ours ${ours!.toFixed(2)} µs, same denials ${reference!.toFixed(2)} ` +
      `µs, ours over it ${over.toFixed(2)} µs (the median of the rounds' differences, as the full run's yardstick ` +
      'judges it: ≤ 5 µs)',
  );
} finally {
  try {
    await app?.close();
  } finally {
    await posthog.stop();
  }
}

/** `text` as a whole number from 1 to `max`, else a TypeError naming the option. */
function wholeNumber(option: string, text: string, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new TypeError(`${option}: a whole number from 1 to ${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

/**
 * The time the contender's guard took per request over the tally's load, in µs; a TypeError when the load went
 * wrong (a failed request, a wrong answer, a call to PostHog: local evaluation asks nothing) or the guard was never
 * timed.
 */
function guardMicros(contender: Contender, tally: Tally): number {
  const wrong = tally.answered - tally.matches;
  if (tally.errors > 0 || wrong > 0 || tally.upstreamCalls > 0 || tally.guardCalls === 0) {
    throw new TypeError(
      `${contender}: ${tally.errors} failed requests, ${wrong} wrong answers, ${tally.upstreamCalls} calls to ` +
        `PostHog, ${tally.guardCalls} guard calls timed: no time to tell`,
    );
  }
  return tally.guardNanos / tally.guardCalls / 1000;
}
