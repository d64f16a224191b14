import { describe, expect, it } from '@jest/globals';
import { seededRandom } from '../../test/support/random-definitions.js';
import type { FlagContext } from '../flags.types.js';
import { isRecord } from '../util/is-record.js';
import { setOwn } from '../util/own.js';
import { contextKey, parseFlagContext } from './flag-context.js';
import type { PropertyDrops } from './sendable-properties.js';

/** Drops nobody is told of. */
const NO_DROPS: PropertyDrops = { dropped: () => undefined, allKept: () => undefined };

/** The key as written before its fast path: every object copied with its keys sorted, always. */
function sortedCopyKey({ distinctId, groups, personProperties, groupProperties, deviceId }: FlagContext): string {
  return JSON.stringify([distinctId, groups, personProperties, groupProperties, deviceId], (_key, inner: unknown) =>
    isRecord(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}

/** Names that sort apart from the order they are written in: array indices and integer-like others, `__proto__`, case, accents. */
const NAMES = [
  'plan',
  'Plan',
  'a',
  'b',
  '10',
  '9',
  '0',
  '01',
  '-1',
  '4294967294',
  '4294967295',
  '__proto__',
  'é',
  'z',
  '$set',
  'toJSON_',
];

/** A random property value: plain, left out by JSON, nested (arrays, objects), a date, or an object with a `toJSON`. */
function valueOf(random: () => number, depth: number): unknown {
  const pick = Math.floor(random() * (depth > 2 ? 5 : 8));
  if (pick === 0) return NAMES[Math.floor(random() * NAMES.length)];
  if (pick === 1) return Math.floor(random() * 100) - 50;
  if (pick === 2) return random() < 0.5 ? null : random() < 0.5;
  if (pick === 3) return new Date(Date.UTC(2026, 0, 1 + Math.floor(random() * 300)));
  if (pick === 4) return [undefined, Symbol('s'), Number.NaN, -0][Math.floor(random() * 4)];
  if (pick === 5) return Array.from({ length: Math.floor(random() * 3) }, () => valueOf(random, depth + 1));
  if (pick === 6) {
    const written = { z: 1, a: recordOf(random, depth + 1) };
    return { toJSON: () => written };
  }
  return recordOf(random, depth + 1);
}

/** A random record, its names in a random order (each an own property, `__proto__` too). */
function recordOf(random: () => number, depth: number): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  const count = Math.floor(random() * 4);
  for (let index = 0; index < count; index++) {
    setOwn(record, NAMES[Math.floor(random() * NAMES.length)]!, valueOf(random, depth));
  }
  return record;
}

/** The record with its names written in the reverse order, at any depth. */
function reversed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversed);
  if (!isRecord(value) || value instanceof Date || typeof value.toJSON === 'function') return value;
  const copy: Record<string, unknown> = {};
  for (const name of Object.keys(value).reverse()) setOwn(copy, name, reversed(value[name]));
  return copy;
}

describe('contextKey', () => {
  it('is the sorted copy, written as it stands when every object lists its keys in order', () => {
    const random = seededRandom(38).next;
    for (let index = 0; index < 2_000; index++) {
      const context: FlagContext = {
        distinctId: `user-${index}`,
        personProperties: recordOf(random, 0),
        ...(random() < 0.3
          ? { groups: { company: `c-${index}` }, groupProperties: { company: recordOf(random, 0) } }
          : {}),
        ...(random() < 0.2 ? { deviceId: `d-${index}` } : {}),
      };
      expect(contextKey(context)).toBe(sortedCopyKey(context));
      const inOtherOrder = { ...context, personProperties: reversed(context.personProperties) } as FlagContext;
      expect(contextKey(inOtherOrder)).toBe(contextKey(context));
    }
  });

  it('tells contexts apart by any value, at any depth', () => {
    const nested = (plan: string): FlagContext => ({ distinctId: 'u', personProperties: { a: [{ plan }], b: 1 } });
    expect(contextKey(nested('pro'))).not.toBe(contextKey(nested('free')));
    expect(contextKey({ distinctId: 'u', personProperties: { b: 1, a: 2 } })).toBe(
      contextKey({ distinctId: 'u', personProperties: { a: 2, b: 1 } }),
    );
    expect(contextKey({ distinctId: 'u' })).not.toBe(contextKey({ distinctId: 'u', personProperties: { a: 1 } }));
  });

  it('writes what is not plain data through the sorted copy: a boxed primitive is its entries, not its value', () => {
    const boxed = (company: string) => Object.assign(new Number(5), { company }) as unknown as Record<string, string>;
    const inGroup = (company: string): FlagContext => ({ distinctId: 'u', groups: boxed(company) });
    expect(contextKey(inGroup('acme'))).toBe(sortedCopyKey(inGroup('acme')));
    expect(contextKey(inGroup('acme'))).not.toBe(contextKey(inGroup('other')));
    const getter: FlagContext = { distinctId: 'u', personProperties: {} };
    Object.defineProperty(getter.personProperties, 'plan', { get: () => 'pro', enumerable: true });
    expect(contextKey(getter)).toBe(sortedCopyKey(getter));
    // A boxed primitive whose prototype was swapped for a plain one's is still written as its entries.
    for (const prototype of [null, Object.prototype]) {
      const swapped = Object.setPrototypeOf(Object.assign(new Boolean(false), { company: 'acme' }), prototype);
      const context: FlagContext = { distinctId: 'u', personProperties: { team: swapped } };
      expect(contextKey(context)).toBe(sortedCopyKey(context));
    }
    // A proxy whose `has` hides a `toJSON` (JSON still calls it).
    const hidden = new Proxy(
      Object.defineProperty({}, 'toJSON', { value: () => ({ b: 1, a: 2 }), enumerable: false }),
      { has: () => false },
    );
    const proxied: FlagContext = { distinctId: 'u', personProperties: { team: hidden } };
    expect(contextKey(proxied)).toBe(sortedCopyKey(proxied));
    // A long sparse array is written as JSON writes it, not walked item by item here.
    const sparse: FlagContext = { distinctId: 'u', personProperties: { b: 1, a: new Array(20_000) } };
    expect(contextKey(sparse)).toBe(sortedCopyKey(sparse));
  });

  it("parses groups as plain data read once: a getter's value as it was read, a boxed primitive as its entries", () => {
    let reads = 0;
    const groups = Object.defineProperty({}, 'company', { get: () => `acme-${++reads}`, enumerable: true });
    const parsed = parseFlagContext({ distinctId: 'u', groups }, NO_DROPS);
    expect(parsed.groups).toEqual({ company: 'acme-1' });
    expect(contextKey(parsed)).toBe(contextKey(parsed));
    expect(reads).toBe(1);
    const boxed = Object.setPrototypeOf(Object.assign(new Number(5), { company: 'acme' }), Object.prototype);
    const fromBoxed = parseFlagContext({ distinctId: 'u', groups: boxed as Record<string, string> }, NO_DROPS);
    expect(contextKey(fromBoxed)).toBe('["u",{"company":"acme"},null,null,null]');
    const plain = { company: 'acme' };
    expect(parseFlagContext({ distinctId: 'u', groups: plain }, NO_DROPS).groups).toBe(plain);
  });
});
