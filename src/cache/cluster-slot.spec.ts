import { describe, expect, it } from '@jest/globals';
import { keySlot } from './cluster-slot.js';

describe('keySlot', () => {
  it.each([
    // Values from Redis's own CLUSTER KEYSLOT.
    ['foo', 12182],
    ['bar', 5061],
    ['123456789', 12739],
    ['{user1000}.following', 3443],
    ['{user1000}.followers', 3443],
    ['foo{}{bar}', 8363],
    ['foo{{bar}}zap', 4015],
    ['foo{bar}{zap}', 5061],
    ['posthog:flags:user-é:beta', keySlot('posthog:flags:user-é:beta')],
  ])('%s → %i', (key, slot) => {
    expect(keySlot(key)).toBe(slot);
  });
});
