import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { LIBRARY_NAME, LIBRARY_VERSION } from './flags.constants.js';

describe('library identity', () => {
  it('matches package.json, as sent in the User-Agent', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect([LIBRARY_NAME, LIBRARY_VERSION]).toEqual([pkg.name, pkg.version]);
  });
});
