import type { Config } from '@jest/types';

/**
 * For `jest.useFakeTimers({ doNotFake: ONLY_DATE })`: only `Date` is faked, so a test moves the clock by hand
 * (`jest.setSystemTime`) while I/O and timers run for real.
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
