import { FlagsConfigError } from '../config/flags-config-error.js';
import { readInteger } from '../config/read-integer.js';
import { maskCacheUrl, parseUrl } from '../config/url.js';
import type { CacheConfig, CommonCacheConfig, RedisCacheConfig } from './cache-config.js';
import { splitNodes, type RedisNode } from './redis-nodes.js';
/** A cache URL that cannot be used; the message names the problem and what is accepted, never a password. */
export class CacheUrlError extends FlagsConfigError {
  constructor(url: string, problem: string, options?: { cause?: unknown }) {
    super(`invalid flags cache URL "${maskCacheUrl(url)}": ${problem}`, options);
    this.name = 'CacheUrlError';
  }
}

/** Reads one query parameter's raw text into its value, or throws a sentence saying what it must be. */
type ParamReader<T> = (raw: string) => T;

/** The query parameters a backend accepts: name → reader and default. */
type ParamSpec = Record<string, { read: ParamReader<unknown>; default: unknown }>;

/** The values of a {@link ParamSpec}, typed by its readers. */
type ParamValues<S extends ParamSpec> = { [K in keyof S]: ReturnType<S[K]['read']> };

/** A backend's URL grammar: its parameters and how its settings are built from the URL. */
interface BackendSpec<S extends ParamSpec> {
  params: S;
  /** Set when the host part is a comma-separated list of nodes (cluster seeds, sentinels). */
  nodes?: { defaultPort: number };
  build(url: URL, params: ParamValues<S>, source: UrlSource): CacheConfig;
}

/** What the URL says beyond what `URL` parses: its node list, and itself with passwords masked, for logs. */
interface UrlSource {
  nodes: RedisNode[];
  displayUrl: string;
}

/** A reader for a whole number from `min`, in the unit named in its error. */
function integer(unit: string, min = 1): ParamReader<number> {
  return (raw) => readInteger(raw, { min, max: Number.MAX_SAFE_INTEGER, unit });
}

/** The parameters every backend takes. */
const COMMON_PARAMS = {
  ttl: { read: integer('seconds'), default: 3600 },
  fresh: { read: integer('seconds', 0), default: 0 },
  keep: { read: keepReader, default: undefined as 'read' | 'all' | undefined },
};

/** A reader for `keep`: `read` or `all`. */
function keepReader(raw: string): 'read' | 'all' {
  if (raw !== 'read' && raw !== 'all') throw new Error(`must be "read" or "all", got "${raw}"`);
  return raw;
}

/** The common settings from their parameters; `fresh` may not outlast `ttl`. */
function commonConfig({ ttl, fresh, keep }: ParamValues<typeof COMMON_PARAMS>): CommonCacheConfig {
  if (fresh > ttl) throw new Error(`"fresh" (${fresh} s) must not exceed "ttl" (${ttl} s)`);
  return { ttlSeconds: ttl, freshSeconds: fresh, keepEveryFlag: (keep ?? (fresh > 0 ? 'all' : 'read')) === 'all' };
}

/** The memory backend's byte bound when the URL sets none: 64 MiB. */
export const DEFAULT_MEMORY_MAX_BYTES = 64 * 1024 * 1024;

/** The snapshot file's bound when the URL sets none: 64 MiB. */
const DEFAULT_SNAPSHOT_MAX_BYTES = 64 * 1024 * 1024;

const memorySpec: BackendSpec<
  typeof COMMON_PARAMS & {
    size: { read: ParamReader<number>; default: number };
    maxBytes: { read: ParamReader<number>; default: number };
    snapshot: { read: ParamReader<string>; default: string };
    snapshotMaxBytes: { read: ParamReader<number>; default: number };
  }
> = {
  params: {
    ...COMMON_PARAMS,
    size: { read: integer('distinct ids'), default: 10_000 },
    maxBytes: { read: integer('bytes'), default: DEFAULT_MEMORY_MAX_BYTES },
    snapshot: { read: nonEmptyString, default: '' },
    snapshotMaxBytes: { read: integer('bytes', 1024), default: DEFAULT_SNAPSHOT_MAX_BYTES },
  },
  build(url, { size, maxBytes, snapshot, snapshotMaxBytes, ...common }) {
    if (url.host !== '' && url.host !== 'local') {
      throw new Error(`the memory backend takes no host: use "memory://local" or "memory://", got host "${url.host}"`);
    }
    return {
      backend: 'memory',
      ...commonConfig(common),
      size,
      maxBytes,
      ...(snapshot ? { snapshot: { path: snapshot, maxBytes: snapshotMaxBytes } } : {}),
    };
  },
};

/** The bound of the shared flag definitions value when the URL sets none: 64 MiB, as `/flags/definitions` bodies. */
export const DEFAULT_MAX_DEFINITIONS_BYTES = 64 * 1024 * 1024;

/** A reader for a non-empty string. */
function nonEmptyString(raw: string): string {
  if (raw === '') throw new Error('must not be empty');
  return raw;
}

/** The parameters every Redis URL takes. */
const REDIS_PARAMS = {
  ...COMMON_PARAMS,
  prefix: { read: nonEmptyString, default: 'posthog:flags:' },
  service: { read: nonEmptyString, default: 'default' },
  timeout: { read: integer('milliseconds'), default: 250 },
  maxDefinitionsBytes: { read: integer('bytes'), default: DEFAULT_MAX_DEFINITIONS_BYTES },
};

/** What every Redis URL's settings are made of: its credentials, database and parameters. */
function redisConfig(
  url: URL,
  { prefix, service, timeout, maxDefinitionsBytes, ...common }: ParamValues<typeof REDIS_PARAMS>,
  db: number,
  where: RedisNode,
  displayUrl: string,
): RedisCacheConfig {
  return {
    backend: 'redis',
    tls: url.protocol.startsWith('rediss'),
    host: where.host,
    port: where.port,
    db,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...commonConfig(common),
    prefix,
    service,
    maxDefinitionsBytes,
    timeoutMs: timeout,
    displayUrl,
  };
}

/** The database number of the URL's path (`/0` when none). */
function databaseOf(url: URL, example: string): number {
  const db = url.pathname.replace(/^\//, '') || '0';
  if (!/^\d+$/.test(db)) throw new Error(`the database must be a number, as in ${example}, got "/${db}"`);
  return Number(db);
}

const redisSpec: BackendSpec<typeof REDIS_PARAMS> = {
  params: REDIS_PARAMS,
  build(url, params, { displayUrl }) {
    if (url.hostname === '') throw new Error('a Redis URL needs a host, e.g. redis://localhost:6379/0');
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = url.port ? Number(url.port) : 6379;
    return redisConfig(url, params, databaseOf(url, 'redis://host:6379/0'), { host, port }, displayUrl);
  },
};

const clusterSpec: BackendSpec<typeof REDIS_PARAMS> = {
  params: REDIS_PARAMS,
  nodes: { defaultPort: 6379 },
  build(url, params, { nodes, displayUrl }) {
    if (nodes.length === 0)
      throw new Error('a cluster URL needs seed nodes, e.g. redis-cluster://host1:7000,host2:7001/');
    if (databaseOf(url, 'redis-cluster://host:7000/') !== 0) {
      throw new Error('a Redis Cluster has no database number: end the nodes with "/" or "/0"');
    }
    return { ...redisConfig(url, params, 0, nodes[0]!, displayUrl), cluster: { nodes } };
  },
};

const SENTINEL_PARAMS = {
  ...REDIS_PARAMS,
  name: { read: nonEmptyString, default: '' },
  sentinelPassword: { read: nonEmptyString, default: undefined as string | undefined },
};

const sentinelSpec: BackendSpec<typeof SENTINEL_PARAMS> = {
  params: SENTINEL_PARAMS,
  nodes: { defaultPort: 26379 },
  build(url, { name, sentinelPassword, ...params }, { nodes, displayUrl }) {
    if (nodes.length === 0)
      throw new Error('a Sentinel URL needs sentinels, e.g. redis-sentinel://host1:26379,host2:26379/0?name=mymaster');
    if (!name) throw new Error("a Sentinel URL needs the primary's name: ?name=mymaster");
    const db = databaseOf(url, 'redis-sentinel://host:26379/0?name=mymaster');
    const sentinel = { nodes, name, ...(sentinelPassword ? { password: sentinelPassword } : {}) };
    return { ...redisConfig(url, params, db, nodes[0]!, displayUrl), sentinel };
  },
};

/** The backends by URL scheme (with its colon, as `URL.protocol` gives it). */
const BACKENDS: Record<string, BackendSpec<ParamSpec>> = {
  'memory:': memorySpec,
  'redis:': redisSpec,
  'rediss:': redisSpec,
  'redis-cluster:': clusterSpec,
  'rediss-cluster:': clusterSpec,
  'redis-sentinel:': sentinelSpec,
  'rediss-sentinel:': sentinelSpec,
};

/** The schemes {@link parseCacheUrl} accepts, for messages and docs. */
export const SUPPORTED_CACHE_SCHEMES = Object.keys(BACKENDS).map((protocol) => `${protocol}//`);

/**
 * Parses and validates a fallback-cache URL such as `memory://local?ttl=3600&size=10000`.
 * The scheme picks the backend; its settings are query parameters.
 * @throws {CacheUrlError} naming the problem (unknown scheme, unknown parameter, bad value), password masked.
 */
export function parseCacheUrl(raw: string): CacheConfig {
  const scheme = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(raw)?.[1]?.toLowerCase();
  const backend = scheme && Object.hasOwn(BACKENDS, scheme) ? BACKENDS[scheme] : undefined;
  const fail = (problem: string, cause?: unknown) => new CacheUrlError(raw, problem, cause ? { cause } : undefined);
  if (!backend) {
    const { protocol } = parseUrl(raw, fail, `one of ${SUPPORTED_CACHE_SCHEMES.join(', ')}`);
    throw fail(`unsupported scheme "${protocol}"; supported: ${SUPPORTED_CACHE_SCHEMES.join(', ')}`);
  }
  try {
    const { url: rest, nodes } = backend.nodes ? splitNodes(raw, backend.nodes.defaultPort) : { url: raw, nodes: [] };
    const url = parseUrl(rest, fail, `one of ${SUPPORTED_CACHE_SCHEMES.join(', ')}`);
    return backend.build(url, readParams(url.searchParams, backend.params), { nodes, displayUrl: maskCacheUrl(raw) });
  } catch (error) {
    if (error instanceof CacheUrlError) throw error;
    throw fail((error as Error).message, error);
  }
}

/** Reads every parameter of `spec` from `query`, rejecting unknown and repeated ones. */
function readParams<S extends ParamSpec>(query: URLSearchParams, spec: S): ParamValues<S> {
  const accepted = Object.keys(spec);
  const values: Record<string, unknown> = {};
  for (const name of accepted) values[name] = spec[name].default;
  for (const name of new Set(query.keys())) {
    if (!Object.hasOwn(spec, name)) {
      throw new Error(`unknown parameter "${name}"; accepted: ${accepted.join(', ')}`);
    }
    const all = query.getAll(name);
    if (all.length > 1) throw new Error(`parameter "${name}" is given ${all.length} times`);
    try {
      values[name] = spec[name].read(all[0]);
    } catch (error) {
      throw new Error(`parameter "${name}" ${(error as Error).message}`, { cause: error });
    }
  }
  return values as ParamValues<S>;
}
