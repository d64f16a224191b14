import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Coalescer } from './coalesce.js';

/** A run its test settles by hand. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((yes) => (resolve = yes));
  return { promise, resolve };
}

describe('Coalescer', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('shares a run in flight, and forgets it once it settles', async () => {
    const coalescer = new Coalescer<number>();
    const first = deferred<number>();
    const start = jest.fn(() => first.promise);
    const runs = [coalescer.run('a', start), coalescer.run('a', start)];
    expect(start).toHaveBeenCalledTimes(1);
    expect(coalescer.get('b')).toBeUndefined();
    first.resolve(1);
    expect(await Promise.all(runs)).toEqual([1, 1]);
    expect(coalescer.get('a')).toBeUndefined();
  });

  it('forgets a run that rejected, without an unhandled rejection of its own', async () => {
    const coalescer = new Coalescer<number>();
    const failing = coalescer.run('a', () => Promise.reject(new Error('boom')));
    await expect(failing).rejects.toThrow('boom');
    await Promise.resolve();
    expect(coalescer.get('a')).toBeUndefined();
  });

  it('holds a settled run until reuseUntil settles, then lets go of it at once', async () => {
    const coalescer = new Coalescer<number>(1000);
    const holder = deferred<void>();
    await coalescer.run('a', () => Promise.resolve(1), holder.promise);
    expect(await coalescer.get('a')).toBe(1);
    holder.resolve();
    await holder.promise;
    expect(coalescer.get('a')).toBeUndefined();
  });

  it('lets go of a run at once when it settles after its holder let go (or the holder failed)', async () => {
    const coalescer = new Coalescer<number>(1000);
    const first = deferred<number>();
    const run = coalescer.run('a', () => first.promise, Promise.reject(new Error('holder gone')));
    await Promise.resolve();
    expect(coalescer.get('a')).toBe(first.promise);
    first.resolve(1);
    expect(await run).toBe(1);
    expect(coalescer.get('a')).toBeUndefined();
  });

  it('lets a held run be joined for at most maxHoldMs after it settled, however long it is held', async () => {
    const coalescer = new Coalescer<number>(1000);
    await coalescer.run('a', () => Promise.resolve(1), new Promise(() => {}));
    jest.advanceTimersByTime(999);
    expect(coalescer.get('a')).toBeDefined();
    jest.advanceTimersByTime(1);
    expect(coalescer.get('a')).toBeUndefined();
    const start = jest.fn(() => Promise.resolve(2));
    expect(await coalescer.run('a', start)).toBe(2);
    expect(start).toHaveBeenCalledTimes(1);
  });

  it('lets go of runs held past maxHoldMs in a sweep as later runs start (every 50 ms at most), not only when looked up', async () => {
    const coalescer = new Coalescer<number>(1000);
    await coalescer.run('a', () => Promise.resolve(1), new Promise(() => {}));
    const size = () => (coalescer as unknown as { runs: Map<string, unknown> }).runs.size;
    jest.advanceTimersByTime(1000);
    void coalescer.run('b', () => new Promise<number>(() => {}));
    expect(size()).toBe(1);
    expect(coalescer.get('b')).toBeDefined();
  });
});
