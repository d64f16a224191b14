import type { Redis } from 'ioredis';

/** Commands that change what a Redis server holds (and the transactions around them). */
const WRITES = ['set', 'sadd', 'del', 'expire', 'multi', 'exec', 'eval', 'evalsha'];

/** The calls of each command the server has answered so far (`INFO commandstats`), by lower-case name. */
export async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const [, name, count] of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    calls.set(name!.toLowerCase(), Number(count));
  }
  return calls;
}

/** The write commands answered between two {@link commandCalls} (`SET` alone under `set`). */
export function writesBetween(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const writes: Record<string, number> = {};
  for (const name of WRITES) {
    const delta = (after.get(name) ?? 0) - (before.get(name) ?? 0);
    if (delta > 0) writes[name] = delta;
  }
  return writes;
}

/** Counts the write commands `act` makes the server answer (nothing else may use the server meanwhile). */
export async function writesOf(redis: Redis, act: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await commandCalls(redis);
  await act();
  return writesBetween(before, await commandCalls(redis));
}
