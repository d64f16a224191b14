import type { CacheConfig, RedisCacheConfig } from '../cache/cache-config.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';

/**
 * The line the module logs once at startup: the PostHog host, the mode (`remote`, `local`, `offline`, with
 * `+ overrides` when overrides are configured) and the fallback cache (its scheme and host only). Never a key, a
 * user name, a password or a query parameter.
 */
export function startupLine(config: ResolvedFlagsOptions): string {
  const host = config.offline ? 'none' : hostOf(config.host);
  return `host ${host}, mode ${modeOf(config)}, fallback cache ${cacheOf(config.cache)}`;
}

/** The mode: where flags are answered from, and whether overrides sit on top. */
function modeOf(config: ResolvedFlagsOptions): string {
  const overrides = config.overridesFrom ? ` + overrides (${config.overridesFrom})` : '';
  if (config.offline) return `offline${overrides}`;
  const local = config.localEvaluation;
  if (!local) return `remote (/flags)${overrides}`;
  const polled = `flag definitions polled every ${local.pollIntervalMs} ms`;
  return local.onlyLocal
    ? `local only (${polled}; /flags never asked)${overrides}`
    : `local (${polled}; /flags for what they cannot decide)${overrides}`;
}

/** The PostHog URL without its query or fragment (it holds no user name or password: the options refuse them). */
function hostOf(host: string): string {
  const url = new URL(host);
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

/** The cache's scheme and first host, never its credentials or parameters. */
function cacheOf(cache: CacheConfig): string {
  if (cache.backend === 'memory') return 'memory://local (in this process)';
  const nodes = cache.cluster?.nodes ?? cache.sentinel?.nodes ?? [];
  const more = nodes.length > 1 ? ` (+${nodes.length - 1} more)` : '';
  return `${redisScheme(cache)}://${bracketed(cache.host)}:${cache.port}${more}`;
}

/** The Redis URL scheme the settings came from: `redis`, `rediss`, and their `-cluster` / `-sentinel` forms. */
function redisScheme(cache: RedisCacheConfig): string {
  const kind = cache.cluster ? '-cluster' : cache.sentinel ? '-sentinel' : '';
  return `${cache.tls ? 'rediss' : 'redis'}${kind}`;
}

/** An IPv6 address in brackets, as in a URL; any other host as it is. */
function bracketed(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
