import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { LIBRARY_NAME } from '../flags.constants.js';
import type { EvaluatedFlag } from '../flags.types.js';
import type { RedisCacheConfig } from './cache-url.js';
import { cachedFlags, type CachedFlags, type FlagCache } from './flag-cache.js';
import { decodePythonEntry, encodePythonEntry } from './python-entry.js';

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
  /** Whether the current outage (or the first connection failure) has been reported. */
  private outageReported = false;

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
    this.client.on('error', (error: Error) => this.reportOutage(error.message));
    this.client.on('close', () => this.reportOutage('connection closed'));
    this.client.on('ready', () => this.reportReady());
  }

  async read(distinctId: string, keys?: readonly string[]): Promise<CachedFlags> {
    if (!this.connected) return { flags: [], complete: false };
    const flagKeys = keys ?? (await this.client.smembers(this.flagKeysKey));
    if (flagKeys.length === 0) return { flags: [], complete: false };
    const values = await this.client.mget(flagKeys.map((key) => this.entryKey(distinctId, key)));
    const found = flagKeys.map((key, index) => decodePythonEntry(values[index], key));
    return cachedFlags(flagKeys, found, this.config.ttlSeconds);
  }

  async write(distinctId: string, flags: readonly EvaluatedFlag[], whole: boolean): Promise<void> {
    if (!this.connected || flags.length === 0) return;
    const transaction = this.client.multi();
    for (const flag of flags) {
      transaction.set(this.entryKey(distinctId, flag.key), encodePythonEntry(flag), 'EX', this.config.ttlSeconds);
    }
    if (whole) transaction.del(this.flagKeysKey);
    transaction.sadd(this.flagKeysKey, ...flags.map((flag) => flag.key));
    transaction.expire(this.flagKeysKey, this.config.ttlSeconds);
    for (const [error] of (await transaction.exec()) ?? []) {
      if (error) throw error;
    }
  }

  async close(): Promise<void> {
    this.client.removeAllListeners('ready');
    this.client.removeAllListeners('close');
    if (this.connected) {
      await this.client.quit().catch(() => this.client.disconnect());
    } else {
      this.client.disconnect();
    }
  }

  /** `{prefix}{distinctId}:{flagKey}`, nothing escaped, as the Python SDK writes it. */
  private entryKey(distinctId: string, flagKey: string): string {
    return `${this.config.prefix}${distinctId}:${flagKey}`;
  }

  /** Whether the connection is up and ready for commands. */
  get connected(): boolean {
    return this.client.status === 'ready';
  }

  private reportOutage(why: string): void {
    if (this.outageReported) return;
    this.outageReported = true;
    this.logger.warn(
      `fallback cache ${this.config.displayUrl} is unreachable (${why}); ` +
        'flags are served live, without a fallback, until it is back',
    );
  }

  private reportReady(): void {
    if (this.outageReported) this.logger.log(`fallback cache ${this.config.displayUrl} is reachable again`);
    this.outageReported = false;
  }
}
