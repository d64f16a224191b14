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
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Not the parser's error as the cause: its message holds the whole URL, password included.
    throw fail(badPartOf(raw) ?? `not a URL; expected ${expected}`);
  }
  // The parser takes port 0, which nothing listens on: refused as a port above 65535 is.
  if (url.port === '0') throw fail(badPartOf(raw) ?? `${PORT_RANGE}, got "0"`);
  return url;
}

/** What every message about a bad port says first. */
const PORT_RANGE = 'the port must be a number from 1 to 65535';

/**
 * What is wrong with the host and port of a URL the parser refused (or took with port 0), naming the part (`the
 * port must be…`); `undefined` when neither is to blame. Never quotes the user name or password.
 */
export function badPartOf(raw: string): string | undefined {
  const scheme = raw.indexOf('://');
  if (scheme < 0) return undefined;
  const start = (userinfoOf(raw)?.end ?? scheme + 2) + 1;
  const length = raw.slice(start).search(/[/?#]/);
  const authority = raw.slice(start, length < 0 ? raw.length : start + length);
  return authority
    .split(',')
    .map(badHostOrPort)
    .find((problem) => problem !== undefined);
}

/** What is wrong with one `host[:port]` (IPv6 in brackets); `undefined` when nothing is. */
function badHostOrPort(node: string): string | undefined {
  const bracketed = node.startsWith('[');
  const close = bracketed ? node.indexOf(']') : -1;
  if (bracketed && close < 0) return `the IPv6 host "${node}" lacks its closing "]"`;
  const colon = bracketed ? close + 1 : node.indexOf(':');
  const host = colon < 0 ? node : node.slice(0, colon);
  const port = colon < 0 || colon >= node.length ? undefined : node.slice(colon);
  if (port !== undefined && !/^:\d{1,5}$/.test(port)) {
    return port.startsWith(':')
      ? `${PORT_RANGE}, got "${port.slice(1)}"`
      : `the host "${host}" is followed by "${port}": expected ":port"`;
  }
  const digits = port?.slice(1);
  if (digits !== undefined && (Number(digits) < 1 || Number(digits) > 65535)) return `${PORT_RANGE}, got "${digits}"`;
  if (host === '') return `the host is missing${node === '' ? '' : ` before "${node}"`}`;
  if (/[\s"<>\\^`{|}%]/.test(host)) return `the host "${host}" holds a character no host name may hold`;
  return undefined;
}

/**
 * The URL with any password replaced by `***`, safe for logs and errors, also for URLs that do not parse: the
 * password of the userinfo, the value of every query parameter but those known to be harmless
 * ({@link SHOWN_PARAMETERS}: `ttl`, `prefix`...), and the fragment. The userinfo is everything between `://` and
 * the last `@`, whatever it holds (a password may hold `#`, `?` or `/`); so an `@` elsewhere in the URL must be
 * percent-encoded (`%40`), and {@link parseCacheUrl} says so.
 */
export function maskCacheUrl(raw: string): string {
  const userinfo = userinfoOf(raw);
  const scheme = raw.indexOf('://');
  const rest = userinfo?.end ?? (scheme < 0 ? 0 : scheme + 3);
  const masked = `${raw.slice(0, rest)}${maskQueryAndFragment(raw.slice(rest))}`;
  if (!userinfo) return masked;
  const colon = userinfo.text.indexOf(':');
  if (colon < 0) return masked;
  const user = userinfo.text.slice(0, colon);
  const shown = /[/?#]/.test(user) ? '***' : `${user}:***`;
  return `${masked.slice(0, userinfo.start)}${shown}${masked.slice(userinfo.end)}`;
}

/**
 * The cache URL parameters whose values are shown: settings, never credentials. Any other parameter's value
 * (`sentinelPassword`, or a `password`, `token`... the URL should not hold) is masked, whatever its case.
 */
const SHOWN_PARAMETERS = new Set([
  'ttl',
  'fresh',
  'keep',
  'size',
  'maxBytes',
  'snapshot',
  'snapshotMaxBytes',
  'prefix',
  'service',
  'timeout',
  'maxDefinitionsBytes',
  'name',
]);

/** The part of a URL after its authority with each unknown parameter's value and any fragment masked. */
function maskQueryAndFragment(rest: string): string {
  const hash = rest.indexOf('#');
  const beforeHash = hash < 0 ? rest : rest.slice(0, hash);
  const fragment = hash < 0 ? '' : hash === rest.length - 1 ? '#' : '#***';
  const question = beforeHash.indexOf('?');
  if (question < 0) return `${beforeHash}${fragment}`;
  const parameters = beforeHash
    .slice(question + 1)
    .split('&')
    .map(maskParameter)
    .join('&');
  return `${beforeHash.slice(0, question)}?${parameters}${fragment}`;
}

/** `name=value`, the value masked unless the name is one of {@link SHOWN_PARAMETERS}. */
function maskParameter(parameter: string): string {
  const equals = parameter.indexOf('=');
  if (equals < 0) return parameter;
  const name = parameter.slice(0, equals);
  return SHOWN_PARAMETERS.has(name) ? parameter : `${name}=***`;
}

/** Where the userinfo of a URL-like string stands: between `://` and the last `@`; none without both. */
export function userinfoOf(raw: string): { start: number; end: number; text: string } | undefined {
  const scheme = raw.indexOf('://');
  const at = raw.lastIndexOf('@');
  if (scheme < 0 || at < scheme + 3) return undefined;
  return { start: scheme + 3, end: at, text: raw.slice(scheme + 3, at) };
}
