import { describe, expect, it } from '@jest/globals';
import { sendableProperties, type PropertyDrops } from './sendable-properties.js';

/** Records what was left out. */
function recorder(): PropertyDrops & { paths: string[] } {
  const paths: string[] = [];
  return { paths, dropped: (path) => paths.push(path), allKept: () => {} };
}

describe('sendableProperties', () => {
  it('returns the same object when every property can be sent as it is', () => {
    const properties = { plan: 'pro', at: new Date(0), nested: { list: [1, 'a', null] } };
    const drops = recorder();
    expect(sendableProperties('personProperties', properties, drops)).toBe(properties);
    expect(drops.paths).toEqual([]);
  });

  it('writes a BigInt as its decimal text at any depth, and leaves out what JSON cannot write', () => {
    const drops = recorder();
    const properties = JSON.parse('{"__proto__":"kept"}') as Record<string, unknown>;
    Object.assign(properties, {
      id: 2n ** 64n,
      nested: { count: [1n] },
      broken: {
        toJSON: () => 1n,
        get inner(): never {
          throw new Error('no');
        },
      },
      getter: {
        get value(): never {
          throw new Error('disposed');
        },
      },
    });
    const sendable = sendableProperties('personProperties', properties, drops);
    expect(Object.entries(sendable!)).toEqual([
      ['__proto__', 'kept'],
      ['id', '18446744073709551616'],
      ['nested', { count: ['1'] }],
      ['broken', '1'],
    ]);
    expect(Object.getPrototypeOf(sendable)).toBe(Object.prototype);
    expect(drops.paths).toEqual(['personProperties["getter"]']);
  });

  it('writes once what JSON writes through code of its own, and leaves it out when that throws', () => {
    const boom = (): never => {
      throw new Error('Reference<Org> not initialized: secret detail');
    };
    class Stamp extends Date {}
    const properties = {
      plain: new Date(0),
      invalid: new Date(Number.NaN),
      subclass: new Stamp(0),
      ownToJson: Object.assign(new Date(0), { toJSON: () => 'mine' }),
      lastSeen: Object.assign(new Date(), { toJSON: boom }),
      nested: { deeper: { at: Object.assign(new Date(), { toJSON: boom }) } },
      decimal: new (class Decimal {
        toJSON(): string {
          return '1.5';
        }
      })(),
    };
    const drops = recorder();
    const sendable = sendableProperties('personProperties', properties, drops)!;
    const { invalid, ...rest } = sendable;
    expect(invalid).toBe(properties.invalid);
    expect(rest).toEqual({
      plain: new Date(0),
      subclass: new Date(0).toISOString(),
      ownToJson: 'mine',
      decimal: '1.5',
    });
    expect(drops.paths).toEqual(['personProperties["lastSeen"]', 'personProperties["nested"]']);
    expect(() => JSON.stringify(sendable)).not.toThrow();
  });

  it('leaves out a property whose getter throws, at any depth, reading each getter once', () => {
    let reads = 0;
    const flaky = {
      get org(): string {
        reads++;
        if (reads > 1) throw new Error('second read');
        return 'acme';
      },
    };
    const top = { plan: 'pro' } as Record<string, unknown>;
    Object.defineProperty(top, 'org', { get: () => JSON.parse('{'), enumerable: true });
    Object.defineProperty(top, 'flaky', { value: flaky, enumerable: true });
    const deep = {
      plan: 'pro',
      meta: { list: [Object.defineProperty({}, 'x', { get: () => [][0]!, enumerable: true })] },
    };
    Object.defineProperty(deep.meta.list[0]!, 'y', {
      enumerable: true,
      get: (): never => {
        throw new Error('disposed');
      },
    });
    const drops = recorder();
    const sendable = sendableProperties('personProperties', top, drops)!;
    expect(sendable).toEqual({ plan: 'pro', flaky: { org: 'acme' } });
    expect(() => JSON.stringify(sendable)).not.toThrow();
    expect(reads).toBe(1);
    expect(sendableProperties('groupProperties["company"]', deep, drops)).toEqual({ plan: 'pro' });
    expect(drops.paths).toEqual(['personProperties["org"]', 'groupProperties["company"]["meta"]']);
  });

  it('leaves the whole object out when its keys cannot be listed, and a getter behind a proxy', () => {
    const drops = recorder();
    const keysThrow = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('no keys');
        },
      },
    );
    expect(sendableProperties('personProperties', keysThrow, drops)).toBeUndefined();
    const getThrows = new Proxy({ plan: 'pro' } as Record<string, unknown>, {
      get: () => {
        throw new Error('no value');
      },
    });
    expect(sendableProperties('groupProperties["company"]', { proxied: getThrows }, drops)).toEqual({});
    expect(drops.paths).toEqual(['personProperties', 'groupProperties["company"]["proxied"]']);
  });

  it('still refuses a value nesting too deep, behind a getter too', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 70; i++) deep = [deep];
    const drops = recorder();
    expect(() => sendableProperties('personProperties', { deep }, drops)).toThrow(
      'FlagsService: context.personProperties["deep"] nests more than 64 levels deep',
    );
    const behindGetter = Object.defineProperty({}, 'deep', { get: () => deep, enumerable: true });
    expect(() => sendableProperties('personProperties', behindGetter, drops)).toThrow(TypeError);
    const byToJson = { toJSON: () => deep };
    expect(() => sendableProperties('personProperties', { byToJson }, drops)).toThrow(/"byToJson"\] nests/);
  });
});
