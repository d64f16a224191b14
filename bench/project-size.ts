/**
 * `npm run bench:project-size`: what local evaluation costs as the project grows, in-process. For 10, 100 and
 * 1,000 flags (a mix of person-property conditions, rollouts and multivariates), the CPU of one `evaluateFlags()`
 * and one read of one flag, for users seen before and for new users, against posthog-node's local
 * `getFeatureFlag` of the same flag on the same definitions, in turns, in one process: the median of 11 rounds.
 * The bytes each remembered user holds are printed beside (heap grown per user seen, after a collection, when run
 * with `--expose-gc`). No HTTP: PostHog is the loopback fake, asked only for the definitions.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PostHog } from 'posthog-node';
import { FakePostHog } from '../test/support/fake-posthog.js';
import { FlagsModule, FlagsService, type FlagContext } from '../src/index.js';

const SIZES = [10, 100, 1000];
const ROUNDS = 11;
const CALLS = 400;
const SEEN_USERS = 200;
const READ_FLAG = 'flag-0';

/** `count` flags: one in three on for `plan: pro`, one in three a 50 % rollout, one in three a multivariate. */
export function projectDefinitions(count: number): Record<string, unknown> {
  const flags = Array.from({ length: count }, (_, index) => {
    const key = `flag-${index}`;
    const kind = index % 3;
    if (kind === 0) {
      const pro = { key: 'plan', type: 'person', operator: 'exact', value: ['pro'] };
      return {
        id: index + 1,
        key,
        active: true,
        filters: { groups: [{ properties: [pro], rollout_percentage: 100 }] },
      };
    }
    if (kind === 1) return { id: index + 1, key, active: true, filters: { groups: [{ rollout_percentage: 50 }] } };
    const variants = [
      { key: 'control', rollout_percentage: 50 },
      { key: 'test', rollout_percentage: 50 },
    ];
    return {
      id: index + 1,
      key,
      active: true,
      filters: { groups: [{ rollout_percentage: 100 }], multivariate: { variants } },
    };
  });
  return { flags, group_type_mapping: {}, cohorts: {} };
}

function userOf(id: string): FlagContext {
  return { distinctId: id, personProperties: { plan: id.length % 2 === 0 ? 'pro' : 'free' } };
}

/** CPU µs per call of `call` over `contexts`. */
async function cpuPerCall(contexts: FlagContext[], call: (context: FlagContext) => Promise<unknown>): Promise<number> {
  const start = process.cpuUsage();
  for (const context of contexts) await call(context);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / contexts.length;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function measureSize(count: number): Promise<void> {
  const fake = await FakePostHog.start();
  fake.definitions = projectDefinitions(count);
  @Module({
    imports: [
      FlagsModule.forRoot({
        apiKey: 'phc_bench_key',
        host: fake.url,
        cacheUrl: 'memory://local',
        secretKey: 'phs_bench_secret',
        sendFeatureFlagEvents: false,
        localEvaluation: { onlyLocal: true },
      }),
    ],
  })
  class ProjectSizeModule {}
  const app = await NestFactory.create(ProjectSizeModule, { logger: false });
  await app.init();
  const posthog = new PostHog('phc_bench_key', { host: fake.url, personalApiKey: 'phs_bench_secret' });
  try {
    const flags = app.get(FlagsService);
    while (flags.status().definitions.source === 'none') await new Promise((ready) => setTimeout(ready, 10));
    await posthog.waitForLocalEvaluationReady();
    const seen = Array.from({ length: SEEN_USERS }, (_, index) => userOf(`seen-${index}`));
    const ours = async (context: FlagContext) => (await flags.evaluateFlags(context)).isEnabled(READ_FLAG);
    const theirs = (context: FlagContext) =>
      posthog.getFeatureFlag(READ_FLAG, context.distinctId, {
        personProperties: context.personProperties as Record<string, string>,
        onlyEvaluateLocally: true,
        sendFeatureFlagEvents: false,
      });
    const heapBefore = heapNow();
    for (const context of seen) await ours(context);
    const perUser = (heapNow() - heapBefore) / SEEN_USERS;
    const times = { seen: [] as number[], fresh: [] as number[], node: [] as number[] };
    let next = 0;
    const newUsers = () => Array.from({ length: CALLS }, () => userOf(`new-${count}-${next++}`));
    const seenCalls = Array.from({ length: CALLS }, (_, index) => seen[index % SEEN_USERS]!);
    const turns = [
      async () => times.seen.push(await cpuPerCall(seenCalls, ours)),
      async () => times.fresh.push(await cpuPerCall(newUsers(), ours)),
      async () => times.node.push(await cpuPerCall(newUsers(), theirs)),
    ];
    for (let round = 0; round < ROUNDS; round++) {
      for (const turn of round % 2 ? [...turns].reverse() : turns) await turn();
    }
    console.log(
      `  ${String(count).padStart(5)} flags   seen ${median(times.seen).toFixed(1).padStart(7)}   ` +
        `new ${median(times.fresh).toFixed(1).padStart(7)}   posthog-node ${median(times.node).toFixed(1).padStart(6)}` +
        `   heap per remembered user ${Number.isNaN(perUser) ? 'n/a (run with --expose-gc)' : `${Math.round(perUser)} B`}`,
    );
  } finally {
    await app.close();
    await posthog.shutdown(1000);
    await fake.close();
  }
}

/** The heap used after a full collection; NaN without `--expose-gc`. */
function heapNow(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return NaN;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

console.log(
  `Local evaluation, CPU µs per evaluateFlags() + one read (median of ${ROUNDS} rounds of ${CALLS} calls, in turns):`,
);
for (const count of SIZES) await measureSize(count);
