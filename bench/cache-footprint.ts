/**
 * `npm run bench:footprint`: what the fallback cache holds per user, at 10, 100 and 1,000 flags in the project.
 * Deterministic counts, no timing: a `redis-server` of its own on a free port and a fake PostHog on loopback; 1,000
 * users (200 with `keep=all`) each evaluated as a guarded request does (every flag, one read), then again with the
 * same answers. Prints
 * Redis `used_memory` per user and Redis commands per evaluation (`INFO commandstats`), for `keep=read` (the
 * default) and `keep=all`; then, for `memory://`, the users its default `maxBytes` keeps and the heap they take.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import type { MemoryCacheConfig } from '../src/cache/cache-config.js';
import { parseCacheUrl } from '../src/cache/cache-url.js';
import { MemoryFlagCache } from '../src/cache/memory-flag-cache.js';
import { FlagsModule, FlagsService } from '../src/index.js';
import { parseFlagsResponse } from '../src/upstream/flags-response.js';
import { FakePostHog, type FakeFlag } from '../test/support/fake-posthog.js';
import { forceGc } from '../test/support/force-gc.js';
import { RedisServer } from '../test/support/redis-server.js';

const FLAG_COUNTS = [10, 100, 1000];
/** Users per Redis row: more where each holds little, so that the keyspace's own growth weighs less per user. */
const USERS = { read: 1000, all: 200 };
const READ_FLAG = 'flag-0';

/** A project of `count` flags: booleans on and off, multivariates, and a payload on every fifth. */
function projectFlags(count: number): Record<string, FakeFlag> {
  const flags: Record<string, FakeFlag> = {};
  for (let index = 0; index < count; index++) {
    const flag: FakeFlag = index % 3 === 2 ? { enabled: true, variant: 'test' } : { enabled: index % 3 === 0 };
    if (index % 5 === 4) flag.payload = { color: 'blue', limit: index };
    flags[`flag-${index}`] = flag;
  }
  return flags;
}

/** Calls of every command but the probes' own, so far. */
async function commandsSoFar(redis: Redis): Promise<number> {
  let calls = 0;
  for (const [, name, count] of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (!['info', 'dbsize', 'flushdb', 'memory'].includes(name!)) calls += Number(count);
  }
  return calls;
}

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))![1]);
}

/** Waits until the database holds `keys` keys (the writes happen behind the answers). */
async function settled(redis: Redis, keys: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await redis.dbsize()) < keys) {
    if (Date.now() > deadline) throw new Error(`the cache writes did not settle (${keys} keys expected)`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** One row of the Redis table. */
interface RedisRow {
  flags: number;
  keep: 'read' | 'all';
  bytesPerUser: number;
  commandsPerNewAnswer: number;
  commandsPerUnchangedAnswer: number;
}

/** 200 users through the module on `redis`: once (new answers), then again (the same answers). */
async function redisRow(redis: RedisServer, probe: Redis, posthog: FakePostHog, flags: number, keep: 'read' | 'all') {
  await probe.flushdb();
  posthog.setFlags(projectFlags(flags));
  @Module({
    imports: [
      FlagsModule.forRoot({
        apiKey: 'phc_bench_key',
        host: posthog.url,
        cacheUrl: redis.url(`keep=${keep}`),
        sendFeatureFlagEvents: false,
      }),
    ],
  })
  class FootprintModule {}
  const app = await NestFactory.createApplicationContext(FootprintModule, { logger: false });
  const service = app.get(FlagsService);
  const users = USERS[keep];
  const round = async () => {
    for (let user = 0; user < users; user++) (await service.evaluateFlags(`user-${user}`)).isEnabled(READ_FLAG);
  };
  const [memoryBefore, callsBefore] = [await usedMemory(probe), await commandsSoFar(probe)];
  await round();
  await settled(probe, 1 + users * (keep === 'all' ? flags : 1));
  const [memoryAfter, callsAfter] = [await usedMemory(probe), await commandsSoFar(probe)];
  await round();
  // Nothing to wait for when nothing is written: the module's one connection has sent whatever it would.
  await app.close();
  const callsAgain = await commandsSoFar(probe);
  return {
    flags,
    keep,
    bytesPerUser: Math.round((memoryAfter - memoryBefore) / users),
    commandsPerNewAnswer: (callsAfter - callsBefore) / users,
    // QUIT and the connection's own commands at close are not the evaluations': at most a few over 200.
    commandsPerUnchangedAnswer: Math.max(0, callsAgain - callsAfter - 1) / users,
  } satisfies RedisRow;
}

/** One row of the memory table. */
interface MemoryRow {
  flags: number;
  keep: 'read' | 'all';
  usersKept: number;
  heapPerUser: number;
  countedPerUser: number;
}

/** The `/flags` answer of the fake for one user, as text: each user's answer is parsed anew, as it would be. */
async function answerText(posthog: FakePostHog): Promise<string> {
  const response = await fetch(`${posthog.url}/flags/?v=2`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', connection: 'close' },
    body: JSON.stringify({ api_key: 'phc_bench_key', distinct_id: 'someone' }),
  });
  return response.text();
}

/** The answer's text with the flags `keep` leaves in the cache: every one, or the one read. */
function keptText(text: string, keep: 'read' | 'all'): string {
  if (keep === 'all') return text;
  const answer = JSON.parse(text) as { flags: Record<string, unknown> };
  return JSON.stringify({ ...answer, flags: { [READ_FLAG]: answer.flags[READ_FLAG] } });
}

/** The memory cache at its default `maxBytes`, `keep` deciding what each user's answer leaves in it. */
async function memoryRow(posthog: FakePostHog, flags: number, keep: 'read' | 'all'): Promise<MemoryRow> {
  posthog.setFlags(projectFlags(flags));
  const text = keptText(await answerText(posthog), keep);
  const answered = [...parseFlagsResponse(JSON.parse(text)).flags.keys()];
  const config = { ...parseCacheUrl('memory://?size=1000000'), keepEveryFlag: keep === 'all' } as MemoryCacheConfig;
  const write = async (cache: MemoryFlagCache, user: number) => {
    const kept = [...parseFlagsResponse(JSON.parse(text)).flags.values()];
    await cache.write(`user-${user}`, kept, true, '', keep === 'all' ? undefined : answered);
  };
  const bounded = new MemoryFlagCache(config);
  for (let user = 0; usersOf(bounded) === user; user++) await write(bounded, user);
  const usersKept = usersOf(bounded);
  const measured = Math.min(usersKept, 5000);
  const unbounded = new MemoryFlagCache({ ...config, maxBytes: Number.MAX_SAFE_INTEGER });
  await write(unbounded, -1);
  forceGc();
  const heapBefore = process.memoryUsage().heapUsed;
  for (let index = 0; index < measured; index++) await write(unbounded, index);
  forceGc();
  const heapPerUser = Math.round((process.memoryUsage().heapUsed - heapBefore) / measured);
  const countedPerUser = Math.round(countedOf(unbounded) / (measured + 1));
  return { flags, keep, usersKept, heapPerUser, countedPerUser };
}

/** The users a memory cache holds (its LRU's, read for the measurement). */
function usersOf(cache: MemoryFlagCache): number {
  return (cache as unknown as { users: { size: number } }).users.size;
}

/** The bytes a memory cache counts against `maxBytes`. */
function countedOf(cache: MemoryFlagCache): number {
  return (cache as unknown as { users: { calculatedSize: number } }).users.calculatedSize;
}

async function main(): Promise<void> {
  const redis = await RedisServer.start();
  const probe = new Redis({ port: redis.port });
  const posthog = await FakePostHog.start();
  const redisRows: RedisRow[] = [];
  const memoryRows: MemoryRow[] = [];
  try {
    for (const flags of FLAG_COUNTS) {
      for (const keep of ['read', 'all'] as const) {
        redisRows.push(await redisRow(redis, probe, posthog, flags, keep));
        console.error(JSON.stringify(redisRows.at(-1)));
      }
    }
    for (const flags of FLAG_COUNTS) {
      for (const keep of ['read', 'all'] as const) {
        memoryRows.push(await memoryRow(posthog, flags, keep));
        console.error(JSON.stringify(memoryRows.at(-1)));
      }
    }
  } finally {
    probe.disconnect();
    await redis.stop();
    await posthog.stop();
  }
  console.log(
    `Redis, ${USERS.read} users (keep=read) or ${USERS.all} (keep=all), each evaluated as a guarded request (every flag, one read)\n`,
  );
  console.log('| flags | keep | Redis bytes per user | commands per new answer | commands per unchanged answer |');
  console.log('|---:|---|---:|---:|---:|');
  for (const row of redisRows) {
    console.log(
      `| ${row.flags} | ${row.keep} | ${row.bytesPerUser} | ${row.commandsPerNewAnswer.toFixed(2)} | ` +
        `${row.commandsPerUnchangedAnswer.toFixed(2)} |`,
    );
  }
  console.log('\nmemory://, default maxBytes (64 MiB), size unbounded\n');
  console.log('| flags | keep | users kept | heap per user (bytes) | counted per user (bytes) | counted / heap |');
  console.log('|---:|---|---:|---:|---:|---:|');
  for (const row of memoryRows) {
    console.log(
      `| ${row.flags} | ${row.keep} | ${row.usersKept} | ${row.heapPerUser} | ${row.countedPerUser} | ` +
        `${(row.countedPerUser / row.heapPerUser).toFixed(2)} |`,
    );
  }
}

await main();
