import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { LIBRARY_NAME } from '../flags.constants.js';
import { LogEpisode } from '../log-episode.js';
import type { EvaluatedFlag } from '../flags.types.js';
import { RedisDefinitionsStore } from '../local/redis-definitions-store.js';
import type { RedisCacheConfig } from './cache-url.js';
import { cachedFlags, type CachedFlags, type FlagCache } from './flag-cache.js';
import { decodePythonEntry, encodePythonEntry } from './python-entry.js';

/** A UTF-16 code unit that is half of a pair without its other half (with `u`, a whole pair is one code point). */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** Longest wait between reconnection attempts while Redis is unreachable. */
const MAX_RECONNECT_DELAY_MS = 2000;

/**
 * The `redis://` / `rediss://` backend: one string per (distinct id, flag) in the Python SDK's format, shared
 * by every instance and by Python services. While Redis is unreachable it is a cache that knows nothing (reads
 * are empty and writes are dropped at once, nothing queued); it reconnects by itself.
 */
export class RedisFlagCache implements FlagCache {
  readonly backend = 'redis';
  private readonly logger = new Logger(LIBRARY_NAME);
  private readonly client: Redis;
  /** The set of every flag key seen, so that a fresh instance can answer "all flags" from the cache. */
  private readonly flagKeysKey: string;
  private illFormedReported = false;
  private definitions?: RedisDefinitionsStore;
  /** Connection outages: a line when one starts, a summary a minute while they recur, a line when over. */
  private readonly outages: LogEpisode;

  /**
   * Opens the connection and waits for its first attempt to succeed or fail (bounded by the connect timeout),
   * so that a fresh instance can serve fallbacks from its first request. A failure is reported, not thrown.
   */
  static async open(config: RedisCacheConfig): Promise<RedisFlagCache> {
    const cache = new RedisFlagCache(config);
    await new Promise<void>((settled) => {
      cache.client.once('ready', settled);
      cache.client.once('error', () => settled());
    });
    return cache;
  }

  private constructor(private readonly config: RedisCacheConfig) {
    // No ':' after the prefix: an entry key always has one (`{prefix}{distinctId}:{flagKey}`).
    this.flagKeysKey = `${config.prefix}flag-keys`;
    this.client = new Redis({
      host: config.host,
      port: config.port,
      db: config.db,
      username: config.username,
      password: config.password,
      tls: config.tls ? { servername: config.host } : undefined,
      commandTimeout: config.timeoutMs,
      connectTimeout: Math.max(config.timeoutMs, 1000),
      // ioredis waits this long for a socket that is already closed when closed while reconnecting.
      disconnectTimeout: config.timeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
    });
    const where = `fallback cache ${config.displayUrl}`;
    this.outages = new LogEpisode(this.logger, {
      started: (why) => `${where} is unreachable (${why}); flags are served live, without a fallback, until it is back`,
      lasting: (failures, why) =>
        `${where} still unreachable: ${failures} more connection errors since the last line (last: ${why})`,
      ended: () => `${where} is reachable again`,
    });
    this.client.on('error', (error: Error) => this.outages.failed(error.message));
    this.client.on('close', () => this.outages.failed('connection closed'));
  }

  async read(distinctId: string, keys?: readonly string[]): Promise<CachedFlags> {
    if (!this.connected || !this.isStorable(distinctId, keys)) return { flags: [], complete: false };
    const flagKeys = keys ?? (await this.client.smembers(this.flagKeysKey));
    if (flagKeys.length === 0) return { flags: [], complete: false };
    const values = await this.client.mget(flagKeys.map((key) => this.entryKey(distinctId, key)));
    this.outages.succeeded();
    return cachedFlags(flagKeys, (key, index) => decodePythonEntry(values[index], key), this.config.ttlSeconds);
  }

  async write(distinctId: string, flags: readonly EvaluatedFlag[], whole: boolean, context: string): Promise<void> {
    if (!this.connected || flags.length === 0 || !this.isStorable(distinctId)) return;
    const transaction = this.client.multi();
    for (const flag of flags) {
      transaction.set(
        this.entryKey(distinctId, flag.key),
        encodePythonEntry(flag, context),
        'EX',
        this.config.ttlSeconds,
      );
    }
    if (whole) transaction.del(this.flagKeysKey);
    transaction.sadd(this.flagKeysKey, ...flags.map((flag) => flag.key));
    transaction.expire(this.flagKeysKey, this.config.ttlSeconds);
    for (const [error] of (await transaction.exec()) ?? []) {
      if (error) throw error;
    }
    this.outages.succeeded();
  }

  /** The shared definitions key and poller lock, on this cache's connection. */
  definitionsStore(): RedisDefinitionsStore {
    return (this.definitions ??= new RedisDefinitionsStore(this.client, this.config.prefix, this.config.service));
  }

  async close(): Promise<void> {
    this.client.removeAllListeners('close');
    if (this.connected) {
      await this.client.quit().catch(() => this.client.disconnect());
    } else {
      this.client.disconnect();
    }
  }

  /**
   * Whether the distinct id (and flag keys) can name a Redis key of their own. Redis keys are UTF-8, where every
   * lone surrogate becomes U+FFFD: `victim\uD800`, `victim\uDFFF` and `victim\uFFFD` would share one key, and one
   * user would be served another's flags. Such ids never touch the shared cache (warned once).
   */
  private isStorable(distinctId: string, keys: readonly string[] = []): boolean {
    if (!LONE_SURROGATE.test(distinctId) && !keys.some((key) => LONE_SURROGATE.test(key))) return true;
    if (!this.illFormedReported) {
      this.illFormedReported = true;
      this.logger.warn(
        'a distinct id or flag key is not well-formed UTF-16 (a lone surrogate): such ids are never read from or ' +
          'written to the Redis fallback cache, where they would share a key with another id',
      );
    }
    return false;
  }

  /** `{prefix}{distinctId}:{flagKey}`, nothing escaped, as the Python SDK writes it. */
  private entryKey(distinctId: string, flagKey: string): string {
    return `${this.config.prefix}${distinctId}:${flagKey}`;
  }

  /** Whether the connection is up and ready for commands. */
  get connected(): boolean {
    return this.client.status === 'ready';
  }
}
