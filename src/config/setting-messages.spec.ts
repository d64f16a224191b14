import { describe, expect, it } from '@jest/globals';
import { parseCacheUrl } from '../cache/cache-url.js';
import { resolveFlagsOptions } from '../options/resolve-flags-options.js';
import { readInteger } from './read-integer.js';

/** The message `run` throws with (it must throw). */
function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an error');
}

describe('a whole number above the bound says the bound', () => {
  it.each([
    ['memory://local?size=99999999999999999999', 'size', '99999999999999999999', 'distinct ids'],
    ['memory://local?ttl=9007199254740992', 'ttl', '9007199254740992', 'seconds'],
    [
      'redis://:s3cret@localhost/0?maxDefinitionsBytes=123456789012345678901234567890',
      'maxDefinitionsBytes',
      '123456789012345678901234567890',
      'bytes',
    ],
  ])('%s', (url, name, got, unit) => {
    const message = messageOf(() => parseCacheUrl(url));
    expect(message).toContain(
      `parameter "${name}" must be an integer from 1 to 9007199254740991 (${unit}), got "${got}": too large`,
    );
    expect(message).not.toContain('s3cret');
  });

  it('in every integer setting, a number or a string of digits', () => {
    const bounds = { min: 0, max: 10, unit: 'attempts' };
    expect(() => readInteger(11, bounds)).toThrow('must be an integer from 0 to 10 (attempts), got 11: too large');
    expect(() => readInteger('1e3', bounds)).toThrow(/^must be an integer from 0 to 10 \(attempts\), got "1e3"$/);
    expect(() => readInteger(2 ** 60, bounds)).toThrow(/got 1152921504606847000: too large$/);
    expect(() => readInteger(-1, bounds)).toThrow(/^must be an integer from 0 to 10 \(attempts\), got -1$/);
  });
});

describe('port 0 is refused as a port above 65535 is', () => {
  it.each([
    ['redis://:s3cret@localhost:0/0', 'the port must be a number from 1 to 65535, got "0"'],
    ['rediss://user:s3cret@cache.example:00000/1?ttl=5', 'the port must be a number from 1 to 65535, got "00000"'],
    ['redis-cluster://:s3cret@a:7000,b:0/', '"b:0" is not a node: the port must be a number from 1 to 65535, got "0"'],
    ['redis-sentinel://s1:0/0?name=m&sentinelPassword=s3cret', 'the port must be a number from 1 to 65535, got "0"'],
    ['redis://:s3cret@localhost:99999/0', 'the port must be a number from 1 to 65535, got "99999"'],
  ])('%s', (url, problem) => {
    const message = messageOf(() => parseCacheUrl(url));
    expect(message).toContain(problem);
    expect(message).not.toContain('s3cret');
  });

  it('in the PostHog host too', () => {
    expect(messageOf(() => resolveFlagsOptions({ apiKey: 'phc_test', host: 'http://localhost:0' }, {}))).toContain(
      'host "http://localhost:0": the port must be a number from 1 to 65535, got "0"',
    );
  });
});

describe('a query string or fragment on the PostHog host is an error, not dropped', () => {
  it.each([
    ['https://eu.posthog.example/?token=hunter2', 'https://eu.posthog.example/'],
    ['https://eu.posthog.example/proxy?region=eu&token=hunter2', 'https://eu.posthog.example/proxy'],
    ['http://localhost:8000#hunter2', 'http://localhost:8000/'],
    ['https://eu.posthog.example?', 'https://eu.posthog.example/'],
    ['https://admin:hunter2@eu.posthog.example/?x=1', 'https://eu.posthog.example/'],
  ])('%s', (host, shown) => {
    for (const run of [
      () => resolveFlagsOptions({ apiKey: 'phc_test', host }, {}),
      () => resolveFlagsOptions({ apiKey: 'phc_test' }, { POSTHOG_HOST: host }),
    ]) {
      const message = messageOf(run);
      expect(message).toContain(
        `host "${shown}" is followed by a query string or fragment ("?" or "#"), which no request would carry: ` +
          'remove it',
      );
      expect(message).not.toContain('hunter2');
    }
  });

  it('a host with a path and no query is taken', () => {
    expect(resolveFlagsOptions({ apiKey: 'phc_test', host: 'https://eu.posthog.example/proxy/' }, {}).host).toBe(
      'https://eu.posthog.example/proxy',
    );
  });
});

describe('a credential in a cache URL query string is never quoted', () => {
  const schemes = [
    'redis://:pw@n1:7000',
    'rediss-cluster://:pw@n1:7000,n2:7001/',
    'redis-sentinel://s1/0',
    'memory://',
  ];
  it.each(
    schemes.flatMap((base) =>
      ['password', 'token', 'auth', 'sentinelPassword'].map(
        (name) => `${base}${base.endsWith('&') ? '' : '?'}${name}=S3cretQ&ttl=5`,
      ),
    ),
  )('%s', (cacheUrl) => {
    for (const run of [
      () => resolveFlagsOptions({ apiKey: 'phc_test', cacheUrl }, {}),
      () => resolveFlagsOptions({ apiKey: 'phc_test' }, { FLAGS_CACHE_URL: cacheUrl }),
    ]) {
      let said: string;
      try {
        const { cache } = run();
        said = cache.backend === 'redis' ? cache.displayUrl : '';
      } catch (error) {
        said = (error as Error).message;
      }
      expect(said).not.toContain('S3cretQ');
    }
  });
});
