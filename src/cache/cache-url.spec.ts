import { describe, expect, it } from '@jest/globals';
import { maskCacheUrl } from '../config/url.js';
import { parseCacheUrl } from './cache-url.js';

describe('parseCacheUrl', () => {
  it('reads memory:// with defaults and with parameters', () => {
    expect(parseCacheUrl('memory://')).toEqual({
      backend: 'memory',
      ttlSeconds: 3600,
      freshSeconds: 0,
      keepEveryFlag: false,
      size: 10_000,
      maxBytes: 64 * 1024 * 1024,
    });
    expect(parseCacheUrl('memory://local?ttl=60&size=5&fresh=5&maxBytes=1000000')).toEqual({
      backend: 'memory',
      ttlSeconds: 60,
      freshSeconds: 5,
      keepEveryFlag: true,
      size: 5,
      maxBytes: 1_000_000,
    });
  });

  it('reads redis:// and rediss:// with defaults, credentials and parameters', () => {
    expect(parseCacheUrl('redis://localhost')).toEqual({
      backend: 'redis',
      tls: false,
      host: 'localhost',
      port: 6379,
      db: 0,
      ttlSeconds: 3600,
      freshSeconds: 0,
      keepEveryFlag: false,
      prefix: 'posthog:flags:',
      service: 'default',
      maxDefinitionsBytes: 64 * 1024 * 1024,
      timeoutMs: 250,
      displayUrl: 'redis://localhost',
    });
    expect(
      parseCacheUrl(
        'rediss://us%3Aer:p%40ss@[::1]:6380/3?ttl=60&prefix=app:&timeout=100&fresh=5&service=api&maxDefinitionsBytes=4096',
      ),
    ).toEqual({
      backend: 'redis',
      tls: true,
      host: '::1',
      port: 6380,
      db: 3,
      username: 'us:er',
      password: 'p@ss',
      ttlSeconds: 60,
      freshSeconds: 5,
      keepEveryFlag: true,
      prefix: 'app:',
      service: 'api',
      maxDefinitionsBytes: 4096,
      timeoutMs: 100,
      displayUrl:
        'rediss://us%3Aer:***@[::1]:6380/3?ttl=60&prefix=app:&timeout=100&fresh=5&service=api&maxDefinitionsBytes=4096',
    });
  });

  it('reads keep=read|all: what the cache keeps of each answer (default: read, or all with fresh)', () => {
    expect(parseCacheUrl('memory://?keep=all')).toMatchObject({ keepEveryFlag: true });
    expect(parseCacheUrl('redis://localhost?keep=all')).toMatchObject({ keepEveryFlag: true });
    expect(parseCacheUrl('redis://localhost?fresh=5&keep=read')).toMatchObject({ keepEveryFlag: false });
    expect(parseCacheUrl('redis://localhost?fresh=5')).toMatchObject({ keepEveryFlag: true });
    expect(() => parseCacheUrl('memory://?keep=some')).toThrow(/parameter "keep" must be "read" or "all", got "some"/);
  });

  it('reads redis-cluster:// seeds and redis-sentinel:// sentinels, name and sentinelPassword', () => {
    expect(parseCacheUrl('rediss-cluster://:tok%40en@a.example:7000,b.example,[::1]:7002/?ttl=60')).toMatchObject({
      backend: 'redis',
      tls: true,
      host: 'a.example',
      port: 7000,
      password: 'tok@en',
      ttlSeconds: 60,
      cluster: {
        nodes: [
          { host: 'a.example', port: 7000 },
          { host: 'b.example', port: 6379 },
          { host: '::1', port: 7002 },
        ],
      },
      displayUrl: 'rediss-cluster://:***@a.example:7000,b.example,[::1]:7002/?ttl=60',
    });
    expect(parseCacheUrl('redis-cluster://h:7000')).toMatchObject({ cluster: { nodes: [{ host: 'h', port: 7000 }] } });
    expect(
      parseCacheUrl('redis-sentinel://u:p@s1,s2:26380/2?name=mymaster&sentinelPassword=s%40cret&prefix=x:'),
    ).toMatchObject({
      tls: false,
      db: 2,
      username: 'u',
      password: 'p',
      prefix: 'x:',
      sentinel: {
        nodes: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26380 },
        ],
        name: 'mymaster',
        password: 's@cret',
      },
      displayUrl: 'redis-sentinel://u:***@s1,s2:26380/2?name=mymaster&sentinelPassword=***&prefix=x:',
    });
  });

  it.each([
    ['redis-cluster://a:7000,b:7001/3', /a Redis Cluster has no database number/],
    ['redis-cluster:///', /needs seed nodes/],
    ['redis-cluster://a:70000/', /"a:70000" is not a node/],
    ['redis-sentinel://s1:26379/0', /needs the primary's name: \?name=mymaster/],
    ['redis-sentinel://s1,,s2/0?name=m', /"" is not a node/],
    ['redis-cluster://a:7000/?name=x', /unknown parameter "name"/],
  ])('rejects %s', (url, message) => {
    expect(() => parseCacheUrl(url)).toThrow(message);
  });

  it('never shows a sentinelPassword', () => {
    let message = '';
    try {
      parseCacheUrl('redis-sentinel://s1/0?sentinelPassword=Hidden-1&ttl=x');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/"ttl"/);
    expect(message).not.toContain('Hidden-1');
    expect(maskCacheUrl('redis-sentinel://s1/0?name=m&SENTINELPASSWORD=Hidden-2#x')).toBe(
      'redis-sentinel://s1/0?name=m&SENTINELPASSWORD=***#***',
    );
  });

  it.each([
    ['redis://localhost/zero', /database must be a number/],
    ['redis://localhost?prefix=', /"prefix" must not be empty/],
    ['redis://localhost?timeout=0', /"timeout" must be an integer at least 1 \(milliseconds\), got "0"/],
    ['redis://:secret@localhost?ttl=10&fresh=11', /"fresh" \(11 s\) must not exceed "ttl" \(10 s\)/],
    ['memory://?fresh=-1', /"fresh" must be an integer at least 0 \(seconds\)/],
    ['redis://localhost?size=10', /unknown parameter "size"; accepted: ttl, fresh, keep, prefix, service, timeout/],
  ])('rejects %s', (url, message) => {
    expect(() => parseCacheUrl(url)).toThrow(message);
    expect(() => parseCacheUrl(url)).not.toThrow(/secret/);
  });

  it.each([
    ['redis://localhost:abc', 'the port must be a number from 1 to 65535, got "abc"'],
    ['redis://:secret@localhost:99999/0', 'the port must be a number from 1 to 65535, got "99999"'],
    ['rediss://u:secret@cache.example:63 79', 'the port must be a number from 1 to 65535, got "63 79"'],
    ['redis://:6379', 'the host is missing before ":6379"'],
    ['redis://loc host:6379', 'the host "loc host" holds a character no host name may hold'],
    ['redis://[::1:6379/0', 'the IPv6 host "[::1:6379" lacks its closing "]"'],
    ['redis-cluster://a:7000,b:x/', '"b:x" is not a node: the port must be a number from 1 to 65535, got "x"'],
    ['redis-sentinel://s1,s2:0x1/0?name=m', '"s2:0x1" is not a node: the port must be a number from 1 to 65535'],
    ['redis://localhost/one', 'the database must be a number, as in redis://host:6379/0, got "/one"'],
    ['redis://localhost?ttl=soon', 'parameter "ttl" must be an integer at least 1 (seconds), got "soon"'],
  ])('names the part of %s that is wrong', (url, problem) => {
    expect(() => parseCacheUrl(url)).toThrow(problem);
    expect(() => parseCacheUrl(url)).not.toThrow(/secret|not a URL/);
  });

  it('rejects values that are not whole positive numbers', () => {
    for (const bad of ['', '0', '-3', '1e3', '2.5', ' 7']) {
      expect(() => parseCacheUrl(`memory://local?ttl=${encodeURIComponent(bad)}`)).toThrow(
        /"ttl" must be an integer at least 1/,
      );
    }
  });
});

describe('a password holding "#", "?" or "/"', () => {
  it.each([
    'redis://default:pa#ss@host:6390/0',
    'redis://default:pa?ss@host:6390/0',
    'redis://u:12/ss@host/0',
    'redis://u:12?x@host',
  ])('is never printed: %s', (url) => {
    let message = '';
    try {
      parseCacheUrl(url);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/percent-encode/);
    const password = url.slice(url.indexOf(':', 8) + 1, url.lastIndexOf('@'));
    expect(message).not.toContain(password);
  });

  it('is accepted percent-encoded', () => {
    expect(parseCacheUrl('redis://default:pa%23ss@host:6390/0')).toMatchObject({ password: 'pa#ss' });
  });
});

describe('maskCacheUrl', () => {
  it.each([
    ['redis://user:s3cret@host:6379/0?ttl=5', 'redis://user:***@host:6379/0?ttl=5'],
    ['redis://:s3cret@host', 'redis://:***@host'],
    ['rediss://u:p@ss/w@rd@host/0', 'rediss://u:***@host/0'],
    ['redis://user@host:6379', 'redis://user@host:6379'],
    ['redis://default:pa#ss@host:6390/0', 'redis://default:***@host:6390/0'],
    ['redis://default:pa?ss@host:6390/0?ttl=5', 'redis://default:***@host:6390/0?ttl=5'],
    ['redis://default:12/ss@host:6390/0', 'redis://default:***@host:6390/0'],
    ['redis://host:6379/0?prefix=a%40b', 'redis://host:6379/0?prefix=a%40b'],
    ['redis://host:6379/0?prefix=a@b', 'redis://host:***@b'],
    ['memory://local', 'memory://local'],
    ['no scheme here', 'no scheme here'],
  ])('masks %s', (raw, masked) => {
    expect(maskCacheUrl(raw)).toBe(masked);
  });
});

describe('a credential in the query string', () => {
  const urls = [
    'memory://local',
    'redis://:S3cretPw@cache:6379/0',
    'rediss://u:S3cretPw@[::1]:6380/0',
    'redis-cluster://:S3cretPw@n1:7000,n2:7001/',
    'rediss-cluster://n1:7000/',
    'redis-sentinel://:S3cretPw@s1:26379,s2/0',
    'rediss-sentinel://s1/0',
  ];
  const hostile = urls.flatMap((base) =>
    ['password', 'token', 'auth', 'sentinelPassword', 'PASSWORD'].flatMap((name) => [
      `${base}?${name}=S3cretQ`,
      `${base}?name=m&ttl=60&${name}=S3cretQ&prefix=p:#S3cretF`,
      `${base}?${name}=S3cretQ&ttl=soon`,
    ]),
  );

  it.each(hostile)('is never quoted: %s', (url) => {
    let said: string;
    try {
      const config = parseCacheUrl(url);
      said = config.backend === 'redis' ? config.displayUrl : '';
    } catch (error) {
      said = (error as Error).message;
    }
    expect(said).not.toMatch(/S3cret/);
    expect(maskCacheUrl(url)).not.toMatch(/S3cret/);
  });

  it("names an unknown parameter, never its value, and shows the settings' values", () => {
    expect(() => parseCacheUrl('redis-cluster://:pw@n1:7000,n2:7001/?password=S3cretQ')).toThrow(
      'invalid flags cache URL "redis-cluster://:***@n1:7000,n2:7001/?password=***": unknown parameter "password"',
    );
    expect(maskCacheUrl('redis://h/0?ttl=5&fresh=1&keep=all&prefix=p:&service=s&timeout=9&maxDefinitionsBytes=7')).toBe(
      'redis://h/0?ttl=5&fresh=1&keep=all&prefix=p:&service=s&timeout=9&maxDefinitionsBytes=7',
    );
    expect(maskCacheUrl('memory://?size=1&maxBytes=2&snapshot=/tmp/s&snapshotMaxBytes=3&token=')).toBe(
      'memory://?size=1&maxBytes=2&snapshot=/tmp/s&snapshotMaxBytes=3&token=***',
    );
  });

  it('every setting a scheme accepts has its value shown, but the sentinel password', () => {
    for (const url of ['memory://?x=1', 'redis://h?x=1', 'redis-cluster://h/?x=1', 'redis-sentinel://h/0?x=1']) {
      const accepted = /accepted: (.*)$/
        .exec(
          (() => {
            try {
              parseCacheUrl(url);
            } catch (error) {
              return (error as Error).message;
            }
            return '';
          })(),
        )![1]!
        .split(', ');
      for (const name of accepted) {
        expect(maskCacheUrl(`${url}&${name}=v`)).toBe(
          `${maskCacheUrl(url)}&${name}=${name === 'sentinelPassword' ? '***' : 'v'}`,
        );
      }
    }
  });
});
