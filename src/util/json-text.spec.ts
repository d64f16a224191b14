import { describe, expect, it } from '@jest/globals';
import { jsonText, JsonTooLargeError } from './json-text.js';

describe('jsonText', () => {
  it('writes what JSON.stringify writes for parsed JSON data', () => {
    const values: unknown[] = [
      null,
      true,
      0,
      -0,
      1e21,
      'a "quoted"\n\u2028 string',
      [],
      {},
      [1, [2, [3, {}]], { a: null }],
      { flags: [{ key: 'beta', filters: { groups: [{ rollout_percentage: 50.5 }] } }], cohorts: {} },
      { skipped: undefined, kept: 1, nested: [undefined, NaN, Infinity] },
    ];
    for (const value of values) expect(jsonText(value)).toBe(JSON.stringify(value));
  });

  it('writes a 100,000-deep value without overflowing the stack', () => {
    const depth = 100_000;
    const text = '{"values":['.repeat(depth) + '1' + ']}'.repeat(depth);
    expect(jsonText(JSON.parse(text))).toBe(text);
  });

  it('stops as soon as the text passes the bound', () => {
    expect(() => jsonText({ name: 'x'.repeat(100) }, 50)).toThrow(JsonTooLargeError);
    expect(jsonText({ name: 'x' }, 50)).toBe('{"name":"x"}');
  });
});
