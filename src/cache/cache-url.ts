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
  /** Milliseconds a cache command may take before it counts as a miss. */
  timeoutMs: number;
  /** The URL with its password masked, for logs. */
  displayUrl: string;
}

/** Fallback-cache settings, one variant per backend; the URL's scheme picks it. */
export type CacheConfig = MemoryCacheConfig | RedisCacheConfig;

/** A cache URL that cannot be used; the message names the problem and what is accepted, never a password. */
export class CacheUrlError extends Error {
  constructor(url: string, problem: string) {
    super(`Invalid flags cache URL "${maskCacheUrl(url)}": ${problem}`);
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

/** A reader for a whole number ≥ 1, in the unit named in its error. */
export function positiveInteger(unit: string): ParamReader<number> {
  return wholeNumber(1, 'a positive integer', unit);
}

/** A reader for a whole number ≥ `min`, described as `what` in `unit`. */
function wholeNumber(min: number, what: string, unit: string): ParamReader<number> {
  return (raw) => {
    if (!/^\d+$/.test(raw) || Number(raw) < min || !Number.isSafeInteger(Number(raw))) {
      throw new Error(`must be ${what} (${unit}), got "${raw}"`);
    }
    return Number(raw);
  };
}

/** The parameters every backend takes. */
const COMMON_PARAMS = {
  ttl: { read: positiveInteger('seconds'), default: 3600 },
  fresh: { read: wholeNumber(0, 'a whole number', 'seconds'), default: 0 },
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
    size: { read: positiveInteger('distinct ids'), default: 10_000 },
    maxBytes: { read: positiveInteger('bytes'), default: DEFAULT_MEMORY_MAX_BYTES },
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
    timeout: { read: ParamReader<number>; default: number };
  }
> = {
  params: {
    ...COMMON_PARAMS,
    prefix: { read: nonEmptyString, default: 'posthog:flags:' },
    timeout: { read: positiveInteger('milliseconds'), default: 250 },
  },
  build(url, { prefix, timeout, ...common }) {
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
      timeoutMs: timeout,
      displayUrl: maskCacheUrl(url.href),
    };
  },
};

/** The backends by URL scheme (with its colon, as `URL.protocol` gives it). */
const BACKENDS: Record<string, BackendSpec<any>> = {
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
  if (/[/?#]/.test(userinfoOf(raw)?.text ?? '')) {
    throw new CacheUrlError(
      raw,
      'the part before the last "@" holds "/", "?" or "#": percent-encode them in a user name or password ' +
        '(%2F, %3F, %23), and an "@" anywhere after the host (%40)',
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CacheUrlError(raw, `not a URL; expected one of ${SUPPORTED_CACHE_SCHEMES.join(', ')}`);
  }
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
    throw new CacheUrlError(raw, (error as Error).message);
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
      throw new Error(`parameter "${name}" ${(error as Error).message}`);
    }
  }
  return values as ParamValues<S>;
}

/**
 * The URL with any password replaced by `***`, safe for logs and errors, also for URLs that do not parse. The
 * userinfo is everything between `://` and the last `@`, whatever it holds (a password may hold `#`, `?` or `/`);
 * so an `@` elsewhere in the URL must be percent-encoded (`%40`), and {@link parseCacheUrl} says so.
 */
export function maskCacheUrl(raw: string): string {
  const userinfo = userinfoOf(raw);
  if (!userinfo) return raw;
  const colon = userinfo.text.indexOf(':');
  if (colon < 0) return raw;
  const user = userinfo.text.slice(0, colon);
  const shown = /[/?#]/.test(user) ? '***' : `${user}:***`;
  return `${raw.slice(0, userinfo.start)}${shown}${raw.slice(userinfo.end)}`;
}

/** Where the userinfo of a URL-like string stands: between `://` and the last `@`; none without both. */
function userinfoOf(raw: string): { start: number; end: number; text: string } | undefined {
  const scheme = raw.indexOf('://');
  const at = raw.lastIndexOf('@');
  if (scheme < 0 || at < scheme + 3) return undefined;
  return { start: scheme + 3, end: at, text: raw.slice(scheme + 3, at) };
}
