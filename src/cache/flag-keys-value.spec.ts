import { describe, expect, it } from '@jest/globals';
import { decodeFlagKeys, MAX_FLAG_KEYS, MAX_FLAG_KEYS_BYTES } from './flag-keys-value.js';

describe('decodeFlagKeys', () => {
  it('gives the string members of {"flag_keys": [...]}, each once', () => {
    expect(decodeFlagKeys('{"flag_keys":["beta",1,null,{},"gamma","beta"]}')).toEqual(['beta', 'gamma']);
  });

  it.each([
    ['absent', null],
    ['empty', ''],
    ['not JSON', 'beta'],
    ['an array', '["beta"]'],
    ['a string for the keys', '{"flag_keys":"beta"}'],
    ['an inherited name only', '{"__proto__":{"flag_keys":["beta"]}}'],
    ['over the byte bound', JSON.stringify({ flag_keys: ['beta', 'x'.repeat(MAX_FLAG_KEYS_BYTES)] })],
  ])('gives no keys for a value that is %s', (_, text) => {
    expect(decodeFlagKeys(text)).toEqual([]);
  });

  it('keeps at most the bound of keys', () => {
    const keys = Array.from({ length: MAX_FLAG_KEYS + 5 }, (_, index) => `f${index}`);
    expect(decodeFlagKeys(JSON.stringify({ flag_keys: keys }))).toHaveLength(MAX_FLAG_KEYS);
  });
});
