import { describe, expect, it } from '@jest/globals';
import { boundedCall, BoundedCallError } from './bounded-call.js';

describe('boundedCall', () => {
  it('settles with the value of a sync or async call', async () => {
    expect(await boundedCall('sync()', 1000, () => 1)).toBe(1);
    expect(await boundedCall('async()', 1000, async () => 2)).toBe(2);
  });

  it('rejects with the call named when it throws or rejects', async () => {
    await expect(
      boundedCall('store.get()', 1000, () => {
        throw new Error('down');
      }),
    ).rejects.toBeInstanceOf(BoundedCallError);
    await expect(
      boundedCall('store.get()', 1000, () => {
        throw new Error('down');
      }),
    ).rejects.toThrow('store.get() threw: down');
    await expect(boundedCall('store.get()', 1000, () => Promise.reject(new Error('gone')))).rejects.toThrow(
      'store.get() failed: gone',
    );
  });

  it('rejects when the call has not settled in time, and swallows its late rejection', async () => {
    let fail!: (error: Error) => void;
    const late = new Promise<never>((_resolve, reject) => (fail = reject));
    await expect(boundedCall('store.hang()', 20, () => late)).rejects.toThrow(
      'store.hang() did not settle within 20 ms',
    );
    fail(new Error('too late')); // no unhandled rejection: jest would fail the run
    await new Promise((resolve) => setImmediate(resolve));
  });
});
