import type { RedisNode } from './redis-nodes.js';

/** Settings every backend takes. */
export interface CommonCacheConfig {
  /** Seconds a cached result may be served as a fallback after it was evaluated. */
  ttlSeconds: number;
  /** Seconds a cached result is answered without asking PostHog (`source: 'cache'`); 0: always ask. */
  freshSeconds: number;
  /**
   * `keep=all`: every flag PostHog answers is kept for the user, read or not (the coverage before 0.x, for those who
   * can pay for it); `keep=read`: only the flags the user's requests read. Default `read`, `all` with `fresh` (the
   * `fresh` window answers a whole evaluation from the cache).
   */
  keepEveryFlag: boolean;
}

/** Fallback-cache settings read from a `memory://` URL. */
export interface MemoryCacheConfig extends CommonCacheConfig {
  backend: 'memory';
  /** How many distinct ids are kept; the least recently used is evicted first. */
  size: number;
  /** How many bytes of flags are kept at most (roughly, as their JSON text); the least recently used go first. */
  maxBytes: number;
  /**
   * `snapshot=<path>`: the definitions and the fallback answers are also written to this file (atomically, at most
   * once a second and on close) and read back at startup; `snapshotMaxBytes` bounds it (64 MiB by default).
   */
  snapshot?: { path: string; maxBytes: number };
}

/**
 * Fallback-cache settings read from a `redis://` or `rediss://` URL, or (with `cluster` or `sentinel`) from a
 * `redis-cluster://` or `redis-sentinel://` one (and their TLS forms).
 */
export interface RedisCacheConfig extends CommonCacheConfig {
  backend: 'redis';
  /** `rediss…://`: TLS with certificate checks (a private CA comes from `NODE_EXTRA_CA_CERTS`). */
  tls: boolean;
  /** The server; with `cluster` or `sentinel`, their first node. */
  host: string;
  port: number;
  /** Redis Cluster: its seed nodes (any of its primaries; the others are discovered). */
  cluster?: { nodes: RedisNode[] };
  /** Sentinel: the sentinels, the name of the primary they watch, and their own password if they have one. */
  sentinel?: { nodes: RedisNode[]; name: string; password?: string };
  db: number;
  username?: string;
  password?: string;
  /** Key prefix, `posthog:flags:` by default (the Python SDK's). */
  prefix: string;
  /**
   * The name shared flag definitions are kept under (local evaluation): key `{prefix}{service}`, lock
   * `{prefix}{service}:lock`. Instances with the same service share one poller. Default `default`.
   */
  service: string;
  /**
   * The largest shared flag definitions value read or written, in bytes (`maxDefinitionsBytes`, 64 MiB by
   * default): a follower checks the size (`STRLEN`) before reading; a larger value is not used (one warning).
   */
  maxDefinitionsBytes: number;
  /** Milliseconds a cache command may take before it counts as a miss. */
  timeoutMs: number;
  /** The URL with its password masked, for logs. */
  displayUrl: string;
}

/** Fallback-cache settings, one variant per backend; the URL's scheme picks it. */
export type CacheConfig = MemoryCacheConfig | RedisCacheConfig;
