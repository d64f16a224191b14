/**
 * `npm run bench:guard`: the time in our `@FeatureFlag` guard against a guard that looks nothing up and denies the
 * same users, in-process (each mode in a process of its own): both called in turns inside the request scope (the
 * module's own middleware), on an HTTP execution context, 20 000 calls a round, the order reversed every other round;
 * the median of 12 rounds, for local evaluation, a `fresh` hit and the circuit open. No HTTP and no load generator:
 * what the app's timing (`npm run bench`) cannot resolve on a noisy host. In the app the same code costs about three times as much (the rest of each
 * request evicts what the guard touches).
 */
import 'reflect-metadata';
import { fork } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Controller, Get, Module, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, NestFactory, Reflector } from '@nestjs/core';
import { executionContext } from '../test/support/execution-context.js';
import { FakePostHog } from '../test/support/fake-posthog.js';
import { ModuleDenial } from '../src/guard/module-denial.js';
import { routeNotFound } from '../src/guard/route-not-found.js';
import { FeatureFlag, FeatureFlagGuard, FlagsModule, FlagsService } from '../src/index.js';
import { FlagsRequestMiddleware } from '../src/request/flags-request.middleware.js';
import { ContextSnapshots } from '../src/request/context-snapshots.js';
import { BENCH_FLAG, benchDefinitions, benchUser, flagIsOnFor } from './contenders.js';
import { median } from './turns.js';

const ROUNDS = 12;
/** The yardstick: bytes our guard allocates per call beyond the same-denials reference (issue 38). */
const MAX_BYTES_OVER = 600;
const CALLS_PER_ROUND = 20_000;
const USERS = Array.from({ length: 200 }, (_, index) => benchUser(index));

@Controller()
class GuardedController {
  @Get('ours')
  @FeatureFlag(BENCH_FLAG)
  ours() {}

  @Get('reference')
  reference() {}
}

/** A guard's time per call, in µs, over one round. */
type Round = (guard: CanActivate, handler: () => void) => number;

/**
 * Starts the module: evaluating definitions (`local evaluation`); or on a memory cache whose `fresh` hour keeps
 * every hit (`fresh hit`); or on a memory cache, PostHog refusing connections once every user was seen, and the
 * circuit open (`circuit open`: every answer from the fallback cache).
 */
async function measure(
  mode: Mode,
): Promise<{ ours: number; reference: number; over: number; bytes: { ours: number; reference: number } }> {
  const posthog = await FakePostHog.start();
  posthog.definitions = benchDefinitions();
  USERS.forEach((user) => posthog.setFlags({ [BENCH_FLAG]: { enabled: flagIsOnFor(user) } }, user));
  const local = mode === 'local evaluation';
  @Module({
    imports: [
      FlagsModule.forRoot({
        apiKey: 'phc_bench_key',
        host: posthog.url,
        cacheUrl: mode === 'fresh hit' ? 'memory://local?fresh=3600' : 'memory://local',
        ...(local ? { secretKey: 'phs_bench_secret' } : {}),
      }),
    ],
    controllers: [GuardedController],
  })
  class GuardBenchModule {}
  const app = await NestFactory.create(GuardBenchModule, { logger: false });
  await app.init();
  try {
    const flags = app.get(FlagsService);
    while (local && flags.status().definitions.source === 'none') await new Promise((ready) => setTimeout(ready, 10));
    for (const user of USERS) await flags.isEnabled(BENCH_FLAG, user);
    if (mode === 'circuit open') await openTheCircuit(posthog, flags);
    const evaluations = app.get(ContextSnapshots);
    const adapterHost = app.get(HttpAdapterHost);
    const ours = new FeatureFlagGuard(app.get(Reflector), evaluations, app.get(ModuleDenial), adapterHost);
    const reference: CanActivate = {
      canActivate(context: ExecutionContext) {
        const request = context.switchToHttp().getRequest<{ user: { id: string } }>();
        if (flagIsOnFor(request.user.id)) return true;
        throw routeNotFound(adapterHost, request);
      },
    };
    const round = roundIn(new FlagsRequestMiddleware(evaluations));
    const times = { ours: [] as number[], reference: [] as number[] };
    // eslint-disable-next-line @typescript-eslint/unbound-method -- handlers for Nest's `getHandler()`, never called
    const { ours: oursHandler, reference: referenceHandler } = GuardedController.prototype;
    const turns = [
      () => times.ours.push(round(ours, oursHandler)),
      () => times.reference.push(round(reference, referenceHandler)),
    ];
    for (let index = 0; index < ROUNDS; index++) (index % 2 ? [...turns].reverse() : turns).forEach((turn) => turn());
    const over = median(times.ours.map((micros, index) => micros - times.reference[index]!));
    const bytes = {
      ours: await bytesPerCall(() => round(ours, oursHandler)),
      reference: await bytesPerCall(() => round(reference, referenceHandler)),
    };
    return { ours: median(times.ours), reference: median(times.reference), over, bytes };
  } finally {
    await app.close();
    await posthog.stop();
  }
}

/** PostHog refuses connections, and calls for users never seen fail until the circuit opens. */
async function openTheCircuit(posthog: FakePostHog, flags: FlagsService): Promise<void> {
  await posthog.refuse();
  for (let attempt = 0; flags.status().circuit !== 'open'; attempt++) {
    if (attempt === 100) throw new Error('the circuit did not open');
    await flags.isEnabled(BENCH_FLAG, `never-seen-${attempt}`);
  }
}

/**
 * One round of calls of a guard, each in a request scope of its own entered by the module's middleware and ended
 * as its response closes.
 */
function roundIn(middleware: FlagsRequestMiddleware): Round {
  return (guard, handler) => {
    let nanos = 0;
    for (let call = 0; call < CALLS_PER_ROUND; call++) {
      const request = { method: 'GET', url: '/x', originalUrl: '/x', headers: {}, user: { id: USERS[call % 200] } };
      const response = new EventEmitter();
      const context = executionContext('http', [request, response, () => {}], GuardedController, handler);
      middleware.use(request, response, () => {
        const start = process.hrtime.bigint();
        try {
          void guard.canActivate(context);
        } catch {
          // A denial: the reference's and ours alike.
        }
        nanos += Number(process.hrtime.bigint() - start);
      });
      response.emit('close');
    }
    return nanos / CALLS_PER_ROUND / 1000;
  };
}

/** How often the sampling heap profiler samples: one allocation in about this many bytes. */
const SAMPLING_BYTES = 64;

/**
 * The bytes allocated per call by one round (`round` makes {@link CALLS_PER_ROUND} calls), by V8's sampling heap
 * profiler: every allocation sampled, collected objects included, the estimated total over the calls.
 */
async function bytesPerCall(round: () => void): Promise<number> {
  const session = new Session();
  session.connect();
  try {
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: SAMPLING_BYTES,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    round();
    const { profile } = await session.post('HeapProfiler.stopSampling');
    return totalBytes(profile.head) / CALLS_PER_ROUND;
  } finally {
    session.disconnect();
  }
}

/** The bytes a profile's node and its children allocated. */
function totalBytes(node: { selfSize: number; children: { selfSize: number; children: unknown[] }[] }): number {
  let total = 0;
  for (const pending = [node]; pending.length > 0;) {
    const next = pending.pop()!;
    total += next.selfSize;
    pending.push(...(next.children as (typeof node)[]));
  }
  return total;
}

/** What the module answers from in a mode: see {@link measure}. */
const MODES = ['local evaluation', 'fresh hit', 'circuit open'] as const;
type Mode = (typeof MODES)[number];

const mode = MODES.find((name) => name === process.argv[2]);
if (mode) {
  const { ours, reference, over, bytes } = await measure(mode);
  const allocated = bytes.ours - bytes.reference;
  console.log(
    `  ${mode.padEnd(18)} ours ${ours.toFixed(2)}, same denials ${reference.toFixed(2)}; ` +
      `ours over it, median of the rounds: ${over.toFixed(2)}; allocated per call: ours ${Math.round(bytes.ours)} B, ` +
      `same denials ${Math.round(bytes.reference)} B, ours over it ${Math.round(allocated)} B ` +
      `(≤ ${MAX_BYTES_OVER} B ${allocated <= MAX_BYTES_OVER ? '✓' : '✗'})`,
  );
} else {
  console.log(`Time in the guard, in-process, µs per call (median of ${ROUNDS} rounds of ${CALLS_PER_ROUND} calls):`);
  // Each in a process of its own: the other's paths would make the shared code polymorphic.
  for (const name of MODES) {
    const child = fork(fileURLToPath(import.meta.url), [name]);
    await new Promise((exited) => child.once('exit', exited));
  }
}
