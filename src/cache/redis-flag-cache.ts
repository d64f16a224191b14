import { Logger } from '@nestjs/common';
import { Cluster } from 'ioredis';
import { LIBRARY_NAME } from '../flags.constants.js';
import { LogEpisode } from '../monitor/log-episode.js';
import type { EvaluatedFlag } from '../flags.types.js';
import type { DefinitionsStoreSettings } from '../local/definitions-store.js';
import { RedisDefinitionsStore } from '../local/redis-definitions-store.js';
import type { RedisCacheConfig } from './cache-url.js';
import { cachedFlags, type CachedFlags, type FlagCache } from './flag-cache.js';
import { keySlot } from './cluster-slot.js';
import { decodePythonEntry, encodePythonEntry } from './python-entry.js';
import { closeRedis, connectRedis, type RedisConnection } from './redis-connection.js';
import { RedisSockets } from './redis-sockets.js';

/** A UTF-16 code unit that is half of a pair without its other half (with `u`, a whole pair is one code point). */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * The Redis backend (`redis://`, `redis-cluster://`, `redis-sentinel://` and their TLS forms): one string per
 * (distinct id, flag) in the Python SDK's format, shared by every instance and by Python services. While Redis
 * (or a cluster node, or the primary during a failover) is unreachable, what it holds is a miss and writes to it
 * are dropped at once, nothing queued; it reconnects by itself. On a cluster, a read or write takes one pipeline
 * per node its keys live on.
 */
export class RedisFlagCache implements FlagCache {
  readonly backend: 'redis' | 'redis-cluster' | 'redis-sentinel';
  private readonly logger = new Logger(LIBRARY_NAME);
  private readonly client: RedisConnection;
  /** Every socket the client opens, so that {@link close} can wait until all are closed. */
  private readonly sockets = new RedisSockets();
  /** The set of every flag key seen, so that a fresh instance can answer "all flags" from the cache. */
  private readonly flagKeysKey: string;
  private illFormedReported = false;
  private definitions?: RedisDefinitionsStore;
  /** The one wait for the connection to be ready that writes made meanwhile share (see {@link ready}). */
  private readiness?: Promise<void>;
  /** Ends that wait at once (on close). */
  private stopWaiting?: () => void;
  /** Set by {@link close}: no reconnection is tried after it. */
  private closed = false;
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
    this.backend = config.cluster ? 'redis-cluster' : config.sentinel ? 'redis-sentinel' : 'redis';
    this.client = connectRedis(config, () => this.closed, this.sockets);
    const where = `fallback cache ${config.displayUrl}`;
    this.outages = new LogEpisode(this.logger, {
      started: (why) => `${where} is unreachable (${why}); flags are served live, without a fallback, until it is back`,
      lasting: (failures, why) =>
        `${where} still unreachable: ${failures} more connection errors since the last line (last: ${why})`,
      ended: () => `${where} is reachable again`,
    });
    this.client.on('error', (error: Error) => this.outages.failed(error.message));
    if (this.client instanceof Cluster)
      this.client.on('node error', (error: Error) => this.outages.failed(error.message));
    this.client.on('close', () => this.outages.failed('connection closed'));
  }

  async read(distinctId: string, keys?: readonly string[]): Promise<CachedFlags> {
    if (!this.connected || !this.isStorable(distinctId, keys)) return { flags: [], complete: false };
    const flagKeys = keys ?? (await this.knownFlagKeys());
    if (flagKeys.length === 0) return { flags: [], complete: false };
    const values = await this.getAll(flagKeys.map((key) => this.entryKey(distinctId, key)));
    this.outages.succeeded();
    return cachedFlags(flagKeys, (key, index) => decodePythonEntry(values[index], key), this.config.ttlSeconds);
  }

  async write(distinctId: string, flags: readonly EvaluatedFlag[], whole: boolean, context: string): Promise<void> {
    if (flags.length === 0 || !this.isStorable(distinctId) || !(await this.ready())) return;
    const entries = flags.map((flag) => [this.entryKey(distinctId, flag.key), encodePythonEntry(flag, context)]);
    const known = this.client.multi();
    if (whole) known.del(this.flagKeysKey);
    known.sadd(this.flagKeysKey, ...flags.map((flag) => flag.key));
    known.expire(this.flagKeysKey, this.config.ttlSeconds);
    if (this.client instanceof Cluster) await this.setOnCluster(this.client, entries);
    else this.setAll(known, entries);
    await execOrThrow(known);
    this.outages.succeeded();
  }

  /**
   * Writes the entries on a cluster, one pipeline per node; the entries a pipeline could not write (a slot moved,
   * a node connection not ready yet) are written again one by one, each following the cluster's redirections:
   * no write is lost while the client learns where the slots are. Rejects with the first error that remains.
   */
  private async setOnCluster(cluster: Cluster, entries: string[][]): Promise<void> {
    const failed: string[][] = [];
    await Promise.all(
      [...groupByNode(cluster, entries, ([key]) => key).values()].map(async (group) => {
        const replies = await this.setAll(cluster.pipeline(), group)
          .exec()
          .catch(() => null);
        group.forEach((entry, index) => {
          if (!replies || replies[index]?.[0]) failed.push(entry);
        });
      }),
    );
    await Promise.all(failed.map(([key, value]) => cluster.set(key!, value!, 'EX', this.config.ttlSeconds)));
  }

  /**
   * Whether the connection is ready for commands, waiting for it at most the cache's timeout when it is being
   * (re)established: a write made while the client connects (or discovers a cluster's slots) is not dropped.
   */
  private async ready(): Promise<boolean> {
    if (this.connected) return true;
    if (this.closed || this.client.status === 'end') return false;
    this.readiness ??= new Promise<void>((settled) => {
      const done = () => {
        clearTimeout(timer);
        this.client.off('ready', done);
        this.readiness = undefined;
        this.stopWaiting = undefined;
        settled();
      };
      const timer = setTimeout(done, this.config.timeoutMs);
      this.client.once('ready', done);
      this.stopWaiting = done;
    });
    await this.readiness;
    return this.connected;
  }

  /** Every flag key the cache knows of; on a cluster, none when its node has not answered within the timeout. */
  private async knownFlagKeys(): Promise<string[]> {
    const members = this.client.smembers(this.flagKeysKey);
    if (!(this.client instanceof Cluster)) return members;
    return (await withinMs(members, this.config.timeoutMs)) ?? [];
  }

  /** Adds one `SET … EX ttl` per entry to the pipeline or transaction. */
  private setAll<T extends ReturnType<RedisConnection['pipeline']>>(batch: T, entries: string[][]): T {
    for (const [key, value] of entries) batch.set(key!, value!, 'EX', this.config.ttlSeconds);
    return batch;
  }

  /**
   * The values of the keys, in order (`null` for none): one `MGET`, or on a cluster one pipeline of `GET`s per
   * node; a node that fails or has not answered within the cache's timeout (a primary down: ioredis would try it
   * again, refresh the slots, for a second or more) leaves its keys' values `null` (misses), the others are served.
   */
  private async getAll(keys: string[]): Promise<(string | null)[]> {
    if (!(this.client instanceof Cluster)) return this.client.mget(keys);
    const values: (string | null)[] = keys.map(() => null);
    const byNode = groupByNode(
      this.client,
      keys.map((key, index) => [key, index] as const),
      ([key]) => key,
    );
    await Promise.all(
      [...byNode.values()].map(async (group) => {
        const replies = await withinMs(
          this.client.pipeline(group.map(([key]) => ['get', key])).exec(),
          this.config.timeoutMs,
        );
        group.forEach(([, index], position) => {
          const [error, value] = replies?.[position] ?? [];
          if (!error && typeof value === 'string') values[index] = value;
        });
      }),
    );
    return values;
  }

  /** The shared definitions key, its sidecar and the poller lock, on this cache's connection. */
  definitionsStore(settings: DefinitionsStoreSettings): RedisDefinitionsStore {
    const { prefix, service, maxDefinitionsBytes: maxBytes } = this.config;
    return (this.definitions ??= new RedisDefinitionsStore(this.client, { prefix, service, maxBytes }, settings));
  }

  /**
   * Closes the connection: `QUIT` when connected (what was sent completes), then every socket and timer the client
   * holds (a Sentinel client's connections to the sentinels, a cluster's slot refreshes included). Resolves once
   * they are all gone, a retry that was pending included.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.stopWaiting?.();
    this.client.removeAllListeners('close');
    await closeRedis(this.client, this.sockets, this.connected, this.config.timeoutMs);
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

/** The items grouped by the cluster node (primary and replicas) that serves their key's slot. */
function groupByNode<T>(cluster: Cluster, items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const node = cluster.slots[keySlot(keyOf(item))]?.join() ?? '';
    const group = groups.get(node);
    if (group) group.push(item);
    else groups.set(node, [item]);
  }
  return groups;
}

/** What the promise resolves with within `ms`; `null` when it rejects or takes longer (its timer cleared). */
async function withinMs<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(resolve, ms, null)));
  try {
    return await Promise.race([promise.catch(() => null), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a pipeline or transaction; rejects with the first command's error. */
async function execOrThrow(batch: ReturnType<RedisConnection['pipeline']>): Promise<void> {
  for (const [error] of (await batch.exec()) ?? []) {
    if (error) throw error;
  }
}
