import { describe, expect, it } from '@jest/globals';
import { MAX_FLAG_KEY_LENGTH, nameableKeys, vettedKeys } from './flag-key.js';

describe('nameableKeys', () => {
  it('keeps each key that can name a flag once, in a list of its own', () => {
    const keys = ['beta', 'beta', 'x'.repeat(MAX_FLAG_KEY_LENGTH + 1), 'lone \uD800', 'checkout', 'beta'];
    const nameable = nameableKeys(keys);
    expect(nameable).toEqual(['beta', 'checkout']);
    expect(nameable).not.toBe(keys);
    expect(nameableKeys(Object.freeze(['a', 'a']))).toEqual(['a']);
  });

  it('hands a vetted list on as it is', () => {
    const vetted = vettedKeys(['beta', 'checkout']);
    expect(nameableKeys(vetted)).toBe(vetted);
  });
});
