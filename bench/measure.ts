/**
 * How a route is measured: loaded at full concurrency (alone, or in turns with other routes over rounds), then one
 * request at a time; and each user asking once.
 */
import autocannon from 'autocannon';
import type { FakePostHog } from '../test/support/fake-posthog.js';
import type { BenchServer } from './app-process.js';
import type { BenchOptions, Contender, RoundFigures } from './bench-types.js';
import { flagIsOnFor } from './contenders.js';
import { ROUTES } from './scenarios.js';
import { addTo, emptyTally, roundFigures, type Tally } from './tally.js';
import { inRound } from './turns.js';

/** What one measurement needs besides the app: the fake PostHog (to count calls), the users, the sizes. */
export interface Bench {
  posthog: FakePostHog;
  users: string[];
  options: BenchOptions;
}

/** A route's load at full concurrency, and right after it, one request at a time. */
interface Measured {
  tally: Tally;
  serial: Tally;
}

/** A route measured in turns with others: its tallies over every turn, and what each round saw of it. */
interface MeasuredInTurns extends Measured {
  rounds: RoundFigures[];
}

/** Warms up (unless `warm` is false), then loads one contender's route for the duration, then serially. */
export async function measure(app: BenchServer, bench: Bench, contender: Contender, warm = true): Promise<Measured> {
  if (warm) await warmUp(app, bench, contender);
  const tally = await load(app, bench, ROUTES[contender], bench.options.durationSeconds, emptyTally());
  return { tally, serial: await loadSerially(app, bench, contender) };
}

/**
 * Measures the routes in turns: `rounds` rounds, each route loaded for `roundSeconds` in each round
 * (the order reversed every other round, each slice after one unmeasured request per user), so that a shared
 * machine's drift falls on all of them alike; then serially, in turns too (`serialSeconds` shared out over the
 * rounds). Keeps what each round saw of each route (its loaded turn and its serial turn) beside the tallies of all
 * turns. Warms each route up first, unless `warm` is false.
 */
export async function measureInTurns(
  app: BenchServer,
  bench: Bench,
  contenders: Contender[],
  rounds: number,
  warm = true,
): Promise<Map<Contender, MeasuredInTurns>> {
  // Routes taking turns share the rounds; a route measured alone is loaded for the whole duration at once.
  const slice = contenders.length > 1 ? bench.options.roundSeconds : bench.options.durationSeconds;
  const turns = new Map(contenders.map((contender) => [contender, [] as Measured[]]));
  if (warm) for (const contender of contenders) await warmUp(app, bench, contender);
  for (let round = 0; round < rounds; round++) {
    for (const contender of inRound(contenders, round)) {
      if (warm && contenders.length > 1) await resumeTraffic(app, bench, contender);
      const tally = await load(app, bench, ROUTES[contender], slice, emptyTally());
      turns.get(contender)!.push({ tally, serial: emptyTally() });
    }
  }
  const serialSlice = bench.options.serialSeconds / rounds;
  for (let round = 0; round < rounds; round++) {
    for (const contender of inRound(contenders, round)) {
      // Once, after the loaded rounds: serial turns are short enough that no entry expires in between.
      if (warm && contenders.length > 1 && round === 0) await resumeTraffic(app, bench, contender);
      await loadSerially(app, bench, contender, serialSlice, turns.get(contender)![round]!.serial);
    }
  }
  return new Map(contenders.map((contender) => [contender, pooled(turns.get(contender)!)]));
}

/** A route's turns, pooled into one tally each (under load, serial), and each round's figures. */
function pooled(turns: Measured[]): MeasuredInTurns {
  const tally = emptyTally();
  const serial = emptyTally();
  for (const turn of turns) {
    addTo(tally, turn.tally);
    addTo(serial, turn.serial);
  }
  return { tally, serial, rounds: turns.map((turn) => roundFigures(turn.tally, turn.serial)) };
}

/**
 * Each user asks the route once, unmeasured, before it takes its turn: a route finds the users' cache entries as
 * its last turn left them, under `fresh` older than twice the window (the other routes' turns took longer), so its
 * first request per user would wait for PostHog, a cost of the order of the turns, not of the route. A route with
 * steady traffic has no such gap.
 */
async function resumeTraffic(app: BenchServer, bench: Bench, contender: Contender): Promise<void> {
  await askEachOnce(app.url, ROUTES[contender], bench.users, bench.options.connections);
}

/**
 * One request at a time (one connection): what a request costs without queueing behind the others; for
 * `serialSeconds`, added to a new tally unless one is given.
 */
function loadSerially(
  app: BenchServer,
  bench: Bench,
  contender: Contender,
  seconds = bench.options.serialSeconds,
  tally = emptyTally(),
): Promise<Tally> {
  const options = { ...bench.options, connections: 1 };
  return load(app, { ...bench, options }, ROUTES[contender], seconds, tally);
}

/** The same load, unmeasured (JIT warm-up). */
async function warmUp(app: BenchServer, bench: Bench, contender: Contender): Promise<void> {
  if (bench.options.warmupSeconds > 0)
    await load(app, bench, ROUTES[contender], bench.options.warmupSeconds, emptyTally());
}

/**
 * Loads `path` for `seconds`, users taken in turn, and adds to `tally`: each response's latency (from sending the
 * request to its response), whether it matches the user's last known value, and PostHog's calls meanwhile.
 */
async function load(
  app: BenchServer,
  { posthog, users, options }: Bench,
  path: string,
  seconds: number,
  tally: Tally,
): Promise<Tally> {
  const callsBefore = posthog.requests.length;
  const cpuBefore = await app.cpuMicros();
  const guardBefore = (await app.guardTimes())[path];
  let next = 0;
  const result = await autocannon({
    url: app.url,
    connections: options.connections,
    duration: seconds,
    // autocannon stops at the first sample after `duration`: sampling every second, a 0.3 s turn would last 1 s.
    sampleInt: Math.min(1000, seconds * 1000),
    timeout: 20,
    requests: [
      {
        method: 'GET',
        path,
        setupRequest: (request, context) => {
          const user = users[next++ % users.length];
          Object.assign(context, { user, sentAt: performance.now() });
          return { ...request, headers: { ...request.headers, 'x-user': user } };
        },
        onResponse: (status, _body, context) => {
          const { user, sentAt } = context as { user: string; sentAt: number };
          tally.latenciesMs.push(performance.now() - sentAt);
          tally.answered++;
          if (status === (flagIsOnFor(user) ? 200 : 404)) tally.matches++;
        },
      },
    ],
  });
  tally.seconds += seconds;
  tally.errors += result.errors; // autocannon counts its timeouts among its errors
  tally.upstreamCalls += posthog.requests.length - callsBefore;
  tally.cpuMicros += (await app.cpuMicros()) - cpuBefore;
  const guardAfter = (await app.guardTimes())[path];
  tally.guardNanos += (guardAfter?.nanos ?? 0) - (guardBefore?.nanos ?? 0);
  tally.guardCalls += (guardAfter?.calls ?? 0) - (guardBefore?.calls ?? 0);
  return tally;
}

/** Loads `path` for `seconds` (see {@link load}): what the load saw. */
export function loadRoute(app: BenchServer, bench: Bench, path: string, seconds: number): Promise<Tally> {
  return load(app, bench, path, seconds, emptyTally());
}

/**
 * How long one request asked once ({@link askEachOnce}: the cold start's, and the unmeasured ones before a route's
 * turn) is waited for before it counts as wrong.
 */
const ANSWER_LIMIT_MS = 2000;

/**
 * Each user asks `path` once, `concurrency` at a time; an answer later than {@link ANSWER_LIMIT_MS} (2 s) counts as
 * wrong, at 2 s.
 */
export async function askEachOnce(url: string, path: string, users: string[], concurrency: number): Promise<Tally> {
  const tally = emptyTally();
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < users.length) {
      const user = users[next++]!;
      const sentAt = performance.now();
      const status = await fetch(`${url}${path}`, {
        headers: { 'x-user': user },
        signal: AbortSignal.timeout(ANSWER_LIMIT_MS),
      }).then(
        (response) => response.status,
        () => 0,
      );
      tally.latenciesMs.push(Math.min(performance.now() - sentAt, ANSWER_LIMIT_MS));
      tally.answered++;
      if (status === (flagIsOnFor(user) ? 200 : 404)) tally.matches++;
      else if (status === 0) tally.errors++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  tally.seconds = (performance.now() - started) / 1000;
  return tally;
}
