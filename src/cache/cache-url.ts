import { FlagsConfigError } from '../config/flags-config-error.js';
import { readInteger } from '../config/read-integer.js';
import { maskCacheUrl, parseUrl } from '../config/url.js';
/** Settings every backend takes. */
interface CommonCacheConfig {
  /** Seconds a cached result may be served as a fallback after it was evaluated. */
  ttlSeconds: number;
  /** Seconds a cached result is answered without asking PostHog (`source: 'cache'`); 0: always ask. */
  freshSeconds: number;
}

/** Fallback-cache settings read from a `memory://` URL. */
export interface MemoryCacheConfig extends CommonCacheConfig {
  backend: 'memory';
  /** How many distinct ids are kept; the least recently used is evicted first. */
  size: number;
  /** How many bytes of flags are kept at most (roughly, as their JSON text); the least recently used go first. */
  maxBytes: number;
}

/** Fallback-cache settings read from a `redis://` or `rediss://` URL. */
export interface RedisCacheConfig extends CommonCacheConfig {
  backend: 'redis';
  /** `rediss://`: TLS with certificate checks (a private CA comes from `NODE_EXTRA_CA_CERTS`). */
  tls: boolean;
  host: string;
  port: number;
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
  /** Milliseconds a cache command may take before it counts as a miss. */
  timeoutMs: number;
  /** The URL with its password masked, for logs. */
  displayUrl: string;
}

/** Fallback-cache settings, one variant per backend; the URL's scheme picks it. */
export type CacheConfig = MemoryCacheConfig | RedisCacheConfig;

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
  build(url: URL, params: ParamValues<S>): CacheConfig;
}

/** A reader for a whole number from `min`, in the unit named in its error. */
function integer(unit: string, min = 1): ParamReader<number> {
  return (raw) => readInteger(raw, { min, max: Number.MAX_SAFE_INTEGER, unit });
}

/** The parameters every backend takes. */
const COMMON_PARAMS = {
  ttl: { read: integer('seconds'), default: 3600 },
  fresh: { read: integer('seconds', 0), default: 0 },
};

/** The common settings from their parameters; `fresh` may not outlast `ttl`. */
function commonConfig({ ttl, fresh }: { ttl: number; fresh: number }): CommonCacheConfig {
  if (fresh > ttl) throw new Error(`"fresh" (${fresh} s) must not exceed "ttl" (${ttl} s)`);
  return { ttlSeconds: ttl, freshSeconds: fresh };
}

/** The memory backend's byte bound when the URL sets none: 64 MiB. */
export const DEFAULT_MEMORY_MAX_BYTES = 64 * 1024 * 1024;

const memorySpec: BackendSpec<
  typeof COMMON_PARAMS & {
    size: { read: ParamReader<number>; default: number };
    maxBytes: { read: ParamReader<number>; default: number };
  }
> = {
  params: {
    ...COMMON_PARAMS,
    size: { read: integer('distinct ids'), default: 10_000 },
    maxBytes: { read: integer('bytes'), default: DEFAULT_MEMORY_MAX_BYTES },
  },
  build(url, { size, maxBytes, ...common }) {
    if (url.host !== '' && url.host !== 'local') {
      throw new Error(`the memory backend takes no host: use "memory://local" or "memory://", got host "${url.host}"`);
    }
    return { backend: 'memory', ...commonConfig(common), size, maxBytes };
  },
};

/** A reader for a non-empty string. */
function nonEmptyString(raw: string): string {
  if (raw === '') throw new Error('must not be empty');
  return raw;
}

const redisSpec: BackendSpec<
  typeof COMMON_PARAMS & {
    prefix: { read: ParamReader<string>; default: string };
    service: { read: ParamReader<string>; default: string };
    timeout: { read: ParamReader<number>; default: number };
  }
> = {
  params: {
    ...COMMON_PARAMS,
    prefix: { read: nonEmptyString, default: 'posthog:flags:' },
    service: { read: nonEmptyString, default: 'default' },
    timeout: { read: integer('milliseconds'), default: 250 },
  },
  build(url, { prefix, service, timeout, ...common }) {
    if (url.hostname === '') throw new Error('a Redis URL needs a host, e.g. redis://localhost:6379/0');
    const db = url.pathname.replace(/^\//, '') || '0';
    if (!/^\d+$/.test(db)) throw new Error(`the database must be a number, as in redis://host:6379/0, got "/${db}"`);
    return {
      backend: 'redis',
      tls: url.protocol === 'rediss:',
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port ? Number(url.port) : 6379,
      db: Number(db),
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      ...commonConfig(common),
      prefix,
      service,
      timeoutMs: timeout,
      displayUrl: maskCacheUrl(url.href),
    };
  },
};

/** The backends by URL scheme (with its colon, as `URL.protocol` gives it). */
const BACKENDS: Record<string, BackendSpec<ParamSpec>> = {
  'memory:': memorySpec,
  'redis:': redisSpec,
  'rediss:': redisSpec,
};

/** The schemes {@link parseCacheUrl} accepts, for messages and docs. */
export const SUPPORTED_CACHE_SCHEMES = Object.keys(BACKENDS).map((protocol) => `${protocol}//`);

/**
 * Parses and validates a fallback-cache URL such as `memory://local?ttl=3600&size=10000`.
 * The scheme picks the backend; its settings are query parameters.
 * @throws {CacheUrlError} naming the problem (unknown scheme, unknown parameter, bad value), password masked.
 */
export function parseCacheUrl(raw: string): CacheConfig {
  const url = parseUrl(
    raw,
    (problem) => new CacheUrlError(raw, problem),
    `one of ${SUPPORTED_CACHE_SCHEMES.join(', ')}`,
  );
  const backend = Object.hasOwn(BACKENDS, url.protocol) ? BACKENDS[url.protocol] : undefined;
  if (!backend) {
    throw new CacheUrlError(
      raw,
      `unsupported scheme "${url.protocol}"; supported: ${SUPPORTED_CACHE_SCHEMES.join(', ')}`,
    );
  }
  try {
    return backend.build(url, readParams(url.searchParams, backend.params));
  } catch (error) {
    throw new CacheUrlError(raw, (error as Error).message, { cause: error });
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
