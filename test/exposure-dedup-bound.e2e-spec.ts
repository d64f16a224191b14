import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { ExposureQueue } from '../src/exposures/exposure-queue.js';
import type { FlagCalled } from '../src/exposures/flag-called.js';
import { REMEMBERED_FLAGS_PER_ID } from '../src/exposures/reported-exposures.js';
import type { FlagsService } from '../src/index.js';
import { forceGc } from './support/force-gc.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';

/** The read of `key`, a flag nothing is known of (a route like `GET /features/:key`). */
const unknownRead = (key: string): FlagCalled => ({
  key,
  response: undefined,
  properties: () => ({ $feature_flag: key, $feature_flag_error: 'flag_missing' }),
});

/** Every exposure event queued so far: sent, dropped or waiting. */
const queuedSoFar = (flags: FlagsService) => {
  const { sent, dropped, queued } = flags.status().exposures;
  return sent + dropped + queued;
};

describe('exposure dedup, bounded per distinct id', () => {
  const fake = useFakePostHog();
  const started = useStartedFlags(fake);

  it('one id reading 150 000 distinct unknown keys keeps a bounded record; dedup still works', async () => {
    // Events are dropped at once (a queue of 1): only the record of what was reported grows.
    const { flags, moduleRef } = await started.start({ eventQueue: { flushAt: 1000, maxQueueSize: 1 } });
    const queue = moduleRef.get(ExposureQueue);
    const key = (read: number) => `unknown-feature-${String(read).padStart(8, '0')}`;
    queue.exposed({ distinctId: 'warm-up' }, unknownRead(key(0)));
    forceGc();
    const before = process.memoryUsage().heapUsed;
    for (let read = 0; read < 150_000; read++) queue.exposed({ distinctId: 'reader' }, unknownRead(key(read)));
    forceGc();
    const grown = process.memoryUsage().heapUsed - before;
    // Unbounded, the record of 150 000 keys held some 50 MB; 1000 keys hold well under 1 MB.
    expect(grown).toBeLessThan(8 * 1024 * 1024);

    const sent = queuedSoFar(flags);
    for (let read = 150_000 - REMEMBERED_FLAGS_PER_ID; read < 150_000; read++) {
      queue.exposed({ distinctId: 'reader' }, unknownRead(key(read)));
    }
    expect(queuedSoFar(flags)).toBe(sent);
    queue.exposed({ distinctId: 'reader' }, unknownRead(key(0)));
    expect(queuedSoFar(flags)).toBe(sent + 1);
    for (let read = 0; read < 3; read++) queue.exposed({ distinctId: 'other' }, unknownRead('beta'));
    expect(queuedSoFar(flags)).toBe(sent + 2);
  });

  it('remembers a flag read again as recent: a user reading a few flags over and over sends each once', async () => {
    const { flags, moduleRef } = await started.start({ eventQueue: { flushAt: 1000, maxQueueSize: 1 } });
    const queue = moduleRef.get(ExposureQueue);
    queue.exposed({ distinctId: 'steady' }, unknownRead('beta'));
    for (let read = 0; read < REMEMBERED_FLAGS_PER_ID * 2; read++) {
      queue.exposed({ distinctId: 'steady' }, unknownRead(`other-${read}`));
      queue.exposed({ distinctId: 'steady' }, unknownRead('beta'));
    }
    expect(queuedSoFar(flags)).toBe(1 + REMEMBERED_FLAGS_PER_ID * 2);
  });
});
