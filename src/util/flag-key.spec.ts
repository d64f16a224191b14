import { describe, expect, it } from '@jest/globals';
import { listedKeys, MAX_FLAG_KEY_LENGTH, nameableKeys, vettedKeys } from './flag-key.js';

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

describe('listedKeys', () => {
  it('names the first ten keys as JSON, each cut to 100 characters, and how many more there are', () => {
    expect(listedKeys(['beta', 'a"b\nc'])).toBe('"beta", "a\\"b\\nc"');
    expect(listedKeys(['x'.repeat(101)])).toBe(`"${'x'.repeat(100)}…"`);
    const twelve = Array.from({ length: 12 }, (_, index) => `k${index}`);
    expect(listedKeys(twelve)).toBe(
      `${twelve
        .slice(0, 10)
        .map((key) => `"${key}"`)
        .join(', ')} and 2 more`,
    );
    expect(listedKeys([undefined, 42])).toBe('(undefined), (a number)');
  });
});
