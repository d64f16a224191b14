import { describe, expect, it } from '@jest/globals';
import { isNestedDeeperThan } from './nesting-depth.js';

/** `[[…[]…]]`, `depth` arrays deep. */
const nested = (depth: number): unknown => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);

describe('isNestedDeeperThan', () => {
  it('counts arrays and objects: a scalar is 0 deep, [] 1', () => {
    expect(isNestedDeeperThan('x', 0)).toBe(false);
    expect(isNestedDeeperThan([], 0)).toBe(true);
    expect(isNestedDeeperThan([], 1)).toBe(false);
    expect(isNestedDeeperThan({ a: [1, { b: null }] }, 2)).toBe(true);
    expect(isNestedDeeperThan({ a: [1, { b: null }] }, 3)).toBe(false);
    expect(isNestedDeeperThan(nested(64), 64)).toBe(false);
    expect(isNestedDeeperThan(nested(65), 64)).toBe(true);
  });

  it('walks 100,000 levels without overflowing the call stack', () => {
    expect(isNestedDeeperThan(nested(100_000), 64)).toBe(true);
    expect(isNestedDeeperThan(nested(100_000), 200_000)).toBe(false);
  });

  it('a value that holds itself is too deep', () => {
    const circular: unknown[] = [];
    circular.push([circular]);
    expect(isNestedDeeperThan(circular, 64)).toBe(true);
  });

  it('a value shared at every level is walked once: linear, and its depth counted from where it is deepest', () => {
    let shared: unknown = [];
    for (let level = 0; level < 60; level++) shared = [shared, shared, { again: shared }];
    expect(isNestedDeeperThan(shared, 121)).toBe(false);
    expect(isNestedDeeperThan(shared, 120)).toBe(true);
    const deepest = [[nested(30)], nested(30)];
    expect(isNestedDeeperThan(deepest, 32)).toBe(false);
    expect(isNestedDeeperThan(deepest, 31)).toBe(true);
  });
});
