import { jest } from '@jest/globals';
import type { Config } from '@jest/types';

/**
 * For `jest.useFakeTimers({ doNotFake: ONLY_DATE })`: only `Date` is faked, so a test moves the wall clock by hand
 * (`jest.setSystemTime`) while I/O, timers and the monotonic clock (`performance.now()`) run for real: a step of
 * the wall clock alone, as NTP or a resumed VM makes. For time passing on both clocks, see {@link fakeClocks}.
 */
export const ONLY_DATE: Config.FakeableAPI[] = [
  'hrtime',
  'nextTick',
  'performance',
  'queueMicrotask',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
  'setTimeout',
  'clearTimeout',
];

/**
 * Fakes `Date` from `now` (I/O and timers run for real, as with {@link ONLY_DATE}) and moves `performance.now()`
 * with it: `jest.setSystemTime(Date.now() + ms)` is then `ms` passing on both clocks (the module measures every
 * duration on the monotonic one). It starts where the real monotonic clock stands, moved as far as `now` is from
 * the real time, so what was measured before ages by that much. Undone by {@link restoreClocks}.
 */
export function fakeClocks(now = Date.now()): void {
  restoreClocks();
  const wallAtStart = Date.now();
  // A whole number (never behind the real clock): the sums of whole steps then compare exactly, as `Date`'s do.
  const monotonicAtStart = Math.ceil(performance.now());
  jest.useFakeTimers({ doNotFake: ONLY_DATE, now });
  jest.spyOn(performance, 'now').mockImplementation(() => monotonicAtStart + (Date.now() - wallAtStart));
}

/** Real timers and clocks again (after {@link fakeClocks}, or `jest.useFakeTimers`); harmless when they are. */
export function restoreClocks(): void {
  jest.useRealTimers();
  // eslint-disable-next-line @typescript-eslint/unbound-method -- only its mock's `mockRestore` is read
  const now = performance.now as unknown as { mockRestore?: () => void };
  now.mockRestore?.();
}
