import { Logger } from '@nestjs/common';
import { Cluster } from 'ioredis';
import { LIBRARY_NAME } from '../flags.constants.js';
import { hasLoneSurrogate } from '../util/flag-key.js';
import { LogEpisode } from '../util/log-episode.js';
import type { EvaluatedFlag } from '../flags.types.js';
import type { RedisCacheConfig } from './cache-config.js';
import type { DefinitionsHome } from './definitions-home.js';
import { cachedFlags, type CachedFlags, type FlagCache } from './flag-cache.js';
import { groupByNode, primaryConnection, primaryOf } from './cluster-nodes.js';
import { ConnectionReadiness } from './connection-readiness.js';
import { decodeFlagKeys, readFlagKeys, writeFlagKeys } from './flag-keys-value.js';
import { execOrThrow, withinMs } from './redis-batches.js';
import { decodePythonEntry, encodePythonEntry } from './python-entry.js';
import { closeRedis, connectRedis, connectTimeoutMs, type RedisConnection } from './redis-connection.js';
import { RedisSockets } from './redis-sockets.js';
import { refreshAfterMs } from './write-rule.js';
import { WrittenDigests } from './written-digests.js';
import { WrittenFlagKeys, type FlagKeysUpdate } from './written-flag-keys.js';

/**
 * The Redis backend (`redis://`, `redis-cluster://`, `redis-sentinel://` and their TLS forms): one string per
 * (distinct id, flag) in the Python SDK's format, shared by every instance and by Python services. While Redis
 * (or a cluster node, or the primary during a failover) is unreachable, what it holds is a miss; a write waits for
 * the connection (on a cluster, its node's) at most the connect timeout, behind the answer, then is dropped; it
 * reconnects by itself. On a cluster, a read or write takes one pipeline per node its keys live on. An entry is written when its result differs from what this instance last wrote
 * there, or is half-way to expiry ({@link WrittenDigests}); the flag-keys value when what it holds changes. What was
 * written is forgotten when the connection is established again, and a user's when a read misses an entry of
 * theirs believed written: Redis may have lost it (a restart, an eviction, a failover).
 */
export class RedisFlagCache implements FlagCache {
  readonly backend: 'redis' | 'redis-cluster' | 'redis-sentinel';
  private readonly logger = new Logger(LIBRARY_NAME);
  private readonly client: RedisConnection;
  /** Every socket the client opens, so that {@link close} can wait until all are closed. */
  private readonly sockets = new RedisSockets();
  /** Every flag key seen (`{"flag_keys": [...]}`), so that a fresh instance can answer "all flags" from the cache. */
  private readonly flagKeysKey: string;
  private illFormedReported = false;
  /**
   * A write's wait for its connection (the client's, then on a cluster its node's) while it is being established,
   * at most the connect timeout: writes go behind the answer, and one made meanwhile is not dropped.
   */
  private readonly readiness: ConnectionReadiness;
  /** Set by {@link close}: no reconnection is tried after it. */
  private closed = false;
  /** Connection outages: a line when one starts, a summary a minute while they recur, a line when over. */
  private readonly outages: LogEpisode;
  /** The entries this instance last wrote, per user and flag. */
  private readonly written: WrittenDigests;
  /** What this instance last wrote to the flag-keys value. */
  private readonly writtenKeys: WrittenFlagKeys;

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
    this.readiness = new ConnectionReadiness(connectTimeoutMs(config));
    this.written = new WrittenDigests(refreshAfterMs(config));
    this.writtenKeys = new WrittenFlagKeys(refreshAfterMs(config));
    this.client.on('ready', () => this.forgetWritten());
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
    if (keys === undefined && flagKeys.length === 0) this.writtenKeys.forget();
    if (flagKeys.length === 0) return { flags: [], complete: false };
    const values = await this.getAll(flagKeys.map((key) => this.entryKey(distinctId, key)));
    this.outages.succeeded();
    const project = keys && this.writtenKeys.projectKeys();
    const entryOf = (key: string, index: number) => decodePythonEntry(values[index], key);
    const read = cachedFlags(flagKeys, entryOf, this.config.ttlSeconds, Date.now(), project);
    if (!read.complete) this.forgetLost(distinctId, flagKeys, values);
    return read;
  }

  async write(
    distinctId: string,
    flags: readonly EvaluatedFlag[],
    whole: boolean,
    context: string,
    answered?: readonly string[],
  ): Promise<void> {
    if (!this.isStorable(distinctId) || !(await this.readiness.ready(this.client))) return;
    const changed = this.written.changed(distinctId, flags, context);
    const keys = this.writtenKeys.update(answered ?? flags.map((flag) => flag.key), whole);
    // Nothing to send: the connection is ready all the same, which is what ends an outage's episode.
    if (changed.length === 0 && !keys) return this.outages.succeeded();
    try {
      await this.send(
        changed.map((flag) => [this.entryKey(distinctId, flag.key), encodePythonEntry(flag, context)]),
        keys,
      );
    } catch (error) {
      this.written.forget(distinctId);
      if (keys) this.writtenKeys.forget();
      throw error;
    }
    this.outages.succeeded();
  }

  /**
   * Sends the entries and the flag-keys value's update, if any (one script, {@link WRITE_FLAG_KEYS}: no reader sees
   * it half-written): in one pipeline, the entries in one pipeline per node on a cluster.
   */
  private async send(entries: string[][], keys: FlagKeysUpdate): Promise<void> {
    const batch = this.client.pipeline();
    if (keys) writeFlagKeys(batch, this.flagKeysKey, keys, this.config.ttlSeconds);
    if (this.client instanceof Cluster) await this.setOnCluster(this.client, entries);
    else this.setAll(batch, entries);
    if (batch.length > 0) await execOrThrow(batch);
  }

  /**
   * After a read that missed some keys: forgets what was written for the user when one of the misses is an entry
   * believed written (Redis lost it), so that the user's next results are all written again.
   */
  private forgetLost(distinctId: string, keys: readonly string[], values: readonly (string | null)[]): void {
    for (let index = 0; index < keys.length; index++) {
      if (values[index] != null) continue;
      if (this.written.believesWritten(distinctId, keys[index]!)) return this.written.forget(distinctId);
    }
  }

  /** Forgets everything written: the connection was (re)established, and the server may have lost it. */
  private forgetWritten(): void {
    this.written.forgetAll();
    this.writtenKeys.forget();
  }

  /**
   * Writes the entries on a cluster, one pipeline per node, each sent once the client's connection to that node is
   * ready (a node's connection is made on first use: a command queued on it meanwhile would spend its timeout
   * there). The entries a pipeline could not write (a slot moved, a command timed out) are written again one by
   * one, each following the cluster's redirections: no write is lost while the client connects to the nodes or
   * learns where the slots are. Rejects with the first error that remains.
   */
  private async setOnCluster(cluster: Cluster, entries: string[][]): Promise<void> {
    const failed: string[][] = [];
    await Promise.all(
      [...groupByNode(cluster, entries, ([key]) => key)].map(async ([address, group]) => {
        await this.nodeReady(primaryConnection(cluster, address));
        const replies = await this.setAll(cluster.pipeline(), group)
          .exec()
          .catch(() => null);
        group.forEach((entry, index) => {
          if (!replies || replies[index]?.[0]) failed.push(entry);
        });
      }),
    );
    await Promise.all(
      failed.map(async ([key, value]) => {
        await this.nodeReady(primaryOf(cluster, key!));
        await cluster.set(key!, value!, 'EX', this.config.ttlSeconds);
      }),
    );
  }

  /** Waits (bounded) for the connection to a cluster node, when the client has one; sending then tells the rest. */
  private async nodeReady(node: RedisConnection | undefined): Promise<void> {
    if (node) await this.readiness.ready(node);
  }

  /** Every flag key the cache knows of; on a cluster, none when its node has not answered within the timeout. */
  private async knownFlagKeys(): Promise<string[]> {
    const text = readFlagKeys(this.client, this.flagKeysKey);
    if (!(this.client instanceof Cluster)) return decodeFlagKeys(await text);
    return decodeFlagKeys(await withinMs(text, this.config.timeoutMs));
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

  /** One `GET` of the flag's remote config key; a miss when Redis is unreachable or fails. */
  async readRemoteConfig(flagKey: string): Promise<string | undefined> {
    if (!this.connected) return undefined;
    const stored = await this.client.get(this.remoteConfigKey(flagKey)).catch(() => null);
    return stored ?? undefined;
  }

  /** One `SET … EX ttl` of the flag's remote config key, behind the answer; dropped when Redis is unreachable. */
  async writeRemoteConfig(flagKey: string, stored: string): Promise<void> {
    if (!(await this.readiness.ready(this.client))) return;
    await this.client.set(this.remoteConfigKey(flagKey), stored, 'EX', this.config.ttlSeconds);
  }

  /**
   * `{prefix}remote-config.{flagKey percent-encoded}`: no `:` after the prefix (an entry key always has one, so no
   * distinct id and flag can name it), under the prefix (Redis ACLs granting `{prefix}*` cover it).
   */
  private remoteConfigKey(flagKey: string): string {
    return `${this.config.prefix}remote-config.${encodeURIComponent(flagKey)}`;
  }

  /** The shared definitions key, its sidecar and the poller lock, on this cache's connection. */
  get definitionsHome(): DefinitionsHome {
    const { prefix, service, maxDefinitionsBytes: maxBytes } = this.config;
    return { kind: 'redis', connection: this.client, prefix, service, maxBytes };
  }

  /**
   * Closes the connection: `QUIT` when connected (what was sent completes), then every socket and timer the client
   * holds (a Sentinel client's connections to the sentinels, a cluster's slot refreshes included). Resolves once
   * they are all gone, a retry that was pending included.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.readiness.close();
    this.client.removeAllListeners('close');
    await closeRedis(this.client, this.sockets, this.connected, this.config.timeoutMs);
  }

  /**
   * Whether the distinct id (and flag keys) can name a Redis key of their own. Redis keys are UTF-8, where every
   * lone surrogate becomes U+FFFD: `victim\uD800`, `victim\uDFFF` and `victim\uFFFD` would share one key, and one
   * user would be served another's flags. Such ids never touch the shared cache (warned once).
   */
  private isStorable(distinctId: string, keys: readonly string[] = []): boolean {
    if (!hasLoneSurrogate(distinctId) && !keys.some(hasLoneSurrogate)) return true;
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
