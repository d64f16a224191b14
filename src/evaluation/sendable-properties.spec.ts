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
    expect(Object.entries(sendable)).toEqual([
      ['__proto__', 'kept'],
      ['id', '18446744073709551616'],
      ['nested', { count: ['1'] }],
      ['broken', '1'],
    ]);
    expect(Object.getPrototypeOf(sendable)).toBe(Object.prototype);
    expect(drops.paths).toEqual(['personProperties["getter"]']);
  });
});
