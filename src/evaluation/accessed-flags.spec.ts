import { describe, expect, it } from '@jest/globals';
import { AccessedFlags } from './accessed-flags.js';

describe('AccessedFlags', () => {
  it('counts each key once, in the order first read, the empty key among them', () => {
    const accessed = new AccessedFlags();
    expect([...accessed]).toEqual([]);
    expect(accessed.add('beta')).toBe(true);
    expect(accessed.add('beta')).toBe(false);
    expect(accessed.add('')).toBe(true);
    expect(accessed.add('checkout')).toBe(true);
    expect(accessed.add('')).toBe(false);
    expect(accessed.add('checkout')).toBe(false);
    expect([...accessed]).toEqual(['beta', '', 'checkout']);
  });

  it('counts a key an untyped caller gives as anything, undefined too, once', () => {
    const accessed = new AccessedFlags();
    const nothing = undefined as unknown as string;
    expect(accessed.add(nothing)).toBe(true);
    expect(accessed.add(nothing)).toBe(false);
    expect([...accessed]).toEqual([undefined]);
  });

  it('copies: what either reads later is its own', () => {
    const accessed = new AccessedFlags();
    accessed.add('beta');
    accessed.add('checkout');
    const copy = new AccessedFlags(accessed);
    copy.add('later');
    accessed.add('other');
    expect([...copy]).toEqual(['beta', 'checkout', 'later']);
    expect([...accessed]).toEqual(['beta', 'checkout', 'other']);
    expect([...new AccessedFlags(new AccessedFlags())]).toEqual([]);
  });
});
