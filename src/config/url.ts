import { FlagsConfigError } from './flags-config-error.js';

/**
 * Parses a URL setting. The userinfo is everything between `://` and the last `@` (a password may hold any
 * character), so a `/`, `?` or `#` in it must be percent-encoded, and so must an `@` after the host.
 * @throws {FlagsConfigError} from `fail`, given the problem; the URL in its message must go through
 * {@link maskCacheUrl}.
 */
export function parseUrl(raw: string, fail: (problem: string) => FlagsConfigError, expected: string): URL {
  if (/[/?#]/.test(userinfoOf(raw)?.text ?? '')) {
    throw fail(
      'the part before the last "@" holds "/", "?" or "#": percent-encode them in a user name or password ' +
        '(%2F, %3F, %23), and an "@" anywhere after the host (%40)',
    );
  }
  try {
    return new URL(raw);
  } catch {
    // Not the parser's error as the cause: its message holds the whole URL, password included.
    throw fail(`not a URL; expected ${expected}`);
  }
}

/**
 * The URL with any password replaced by `***`, safe for logs and errors, also for URLs that do not parse. The
 * userinfo is everything between `://` and the last `@`, whatever it holds (a password may hold `#`, `?` or `/`);
 * so an `@` elsewhere in the URL must be percent-encoded (`%40`), and {@link parseCacheUrl} says so.
 */
export function maskCacheUrl(raw: string): string {
  const masked = raw.replace(SECRET_PARAMETER, '$1***');
  const userinfo = userinfoOf(masked);
  if (!userinfo) return masked;
  const colon = userinfo.text.indexOf(':');
  if (colon < 0) return masked;
  const user = userinfo.text.slice(0, colon);
  const shown = /[/?#]/.test(user) ? '***' : `${user}:***`;
  return `${masked.slice(0, userinfo.start)}${shown}${masked.slice(userinfo.end)}`;
}

/** A query parameter that holds a password (`sentinelPassword=`), up to the next `&` or `#`. */
const SECRET_PARAMETER = /([?&]sentinelPassword=)[^&#]*/gi;

/** Where the userinfo of a URL-like string stands: between `://` and the last `@`; none without both. */
export function userinfoOf(raw: string): { start: number; end: number; text: string } | undefined {
  const scheme = raw.indexOf('://');
  const at = raw.lastIndexOf('@');
  if (scheme < 0 || at < scheme + 3) return undefined;
  return { start: scheme + 3, end: at, text: raw.slice(scheme + 3, at) };
}
