import { randomUUID } from 'node:crypto';
import type { RedisConnection } from '../cache/redis-connection.js';
import { parseDefinitions, type FlagDefinitionsData } from './definitions.js';
import type { DefinitionsStore } from './definitions-store.js';

/** How long the shared definitions are kept without a poller refreshing them (PostHog's provider: a day). */
const DEFINITIONS_TTL_SECONDS = 86_400;

/** How long the poller lock lasts unless renewed (PostHog's provider: 60 s); each poll renews it. */
export const LOCK_TTL_MS = 60_000;

/** Takes the lock when free, renews it when this instance holds it: 1 when held after the call. */
const ACQUIRE_OR_RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0`;

/** Deletes the lock only if this instance holds it. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * Definitions shared through Redis in the format of PostHog's published Redis provider (posthog-python's
 * `examples/redis_flag_cache.py`): key `{prefix}{service}` holding `{ flags, group_type_mapping, cohorts }` as
 * JSON (a day's expiry), lock `{prefix}{service}:lock` holding the poller's UUID for 60 s, renewed by each poll.
 */
export class RedisDefinitionsStore implements DefinitionsStore {
  readonly source = 'redis';
  private readonly key: string;
  private readonly lockKey: string;
  /** This instance, in the lock. */
  private readonly id = randomUUID();
  /** The last value read and what it parsed to: an unchanged key gives the very same definitions object. */
  private last?: { text: string; definitions: FlagDefinitionsData };

  constructor(
    private readonly client: RedisConnection,
    prefix: string,
    service: string,
  ) {
    this.key = `${prefix}${service}`;
    this.lockKey = `${this.key}:lock`;
  }

  async shouldPoll(): Promise<boolean> {
    return (await this.client.eval(ACQUIRE_OR_RENEW, 1, this.lockKey, this.id, LOCK_TTL_MS)) === 1;
  }

  async load(): Promise<FlagDefinitionsData | undefined> {
    const text = await this.client.get(this.key);
    if (text === null) return undefined;
    if (this.last?.text !== text) this.last = { text, definitions: parseDefinitions(JSON.parse(text)) };
    return this.last.definitions;
  }

  async publish(definitions: FlagDefinitionsData): Promise<void> {
    const { flags, group_type_mapping, cohorts, property_matching_version } = definitions;
    const value = JSON.stringify({ flags, group_type_mapping, cohorts, property_matching_version });
    await this.client.set(this.key, value, 'EX', DEFINITIONS_TTL_SECONDS);
  }

  async release(): Promise<void> {
    await this.client.eval(RELEASE, 1, this.lockKey, this.id).catch(() => {});
  }
}
