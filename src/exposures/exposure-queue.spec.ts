import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { FlagContext, FlagResult, FlagValue } from '../flags.types.js';
import type { FlagsMonitor } from '../monitor/flags-monitor.js';
import type { FlagsModuleOptions } from '../options/flags-options.js';
import { resolveFlagsOptions } from '../options/resolve-flags-options.js';
import { UpstreamError } from '../pipeline/upstream-error.js';
import type { BatchClient, CapturedEvent } from './batch-client.js';
import { ExposureQueue } from './exposure-queue.js';
import type { FlagCalled } from './flag-called.js';

const USER: FlagContext = { distinctId: 'u1' };

/** A read of `key` that gave `response`. */
function called(key: string, response: FlagValue | undefined): FlagCalled {
  return { key, response, properties: () => ({ $feature_flag: key, $feature_flag_response: response }) };
}

/**
 * The queue with a batch client that records each batch and answers `answer(batch)` (accepted by default), and a
 * monitor that records the failures it is told.
 */
function queueOf(
  eventQueue: FlagsModuleOptions['eventQueue'] = {},
  answer: (batch: readonly CapturedEvent[]) => Promise<void> = () => Promise.resolve(),
  options: FlagsModuleOptions = {},
) {
  const batches: CapturedEvent[][] = [];
  let closed = false;
  const client = {
    send(batch: readonly CapturedEvent[]) {
      batches.push([...batch]);
      return answer(batch);
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
  const failures: string[] = [];
  const monitor = { exposuresFailed: (reason: string) => failures.push(reason) };
  const config = resolveFlagsOptions({ apiKey: 'phc_test', eventQueue, ...options }, {});
  const queue = new ExposureQueue(config, client as unknown as BatchClient, monitor as unknown as FlagsMonitor);
  return { queue, batches, failures, isClosed: () => closed };
}

describe('ExposureQueue', () => {
  const queues: ExposureQueue[] = [];
  beforeEach(() => Logger.overrideLogger(false));
  afterEach(async () => {
    await Promise.all(queues.splice(0).map((queue) => queue.onApplicationShutdown()));
    Logger.overrideLogger(new Logger());
  });
  const made = <T extends { queue: ExposureQueue }>(made: T): T => (queues.push(made.queue), made);

  it('queues one event per user, flag and response, and sends them in one batch on flush', async () => {
    const { queue, batches } = made(queueOf());
    queue.exposed(USER, called('beta', true));
    queue.exposed(USER, called('beta', true));
    queue.exposed(USER, called('beta', false));
    queue.exposed({ distinctId: 'u2' }, called('beta', true));
    expect(queue.status()).toMatchObject({ queued: 3, sent: 0 });
    await queue.flush();
    expect(batches).toHaveLength(1);
    expect(
      batches[0]!.map((event) => [event.event, event.distinct_id, event.properties.$feature_flag_response]),
    ).toEqual([
      ['$feature_flag_called', 'u1', true],
      ['$feature_flag_called', 'u1', false],
      ['$feature_flag_called', 'u2', true],
    ]);
    expect(queue.status()).toMatchObject({ queued: 0, sent: 3, dropped: 0 });
  });

  it('starts sending by itself once flushAt events are queued', async () => {
    let sent!: () => void;
    const sending = new Promise<void>((resolve) => (sent = resolve));
    const { queue, batches } = made(
      queueOf({ flushAt: 2 }, () => {
        sent();
        return Promise.resolve();
      }),
    );
    queue.exposed(USER, called('a', true));
    expect(batches).toHaveLength(0);
    queue.exposed(USER, called('b', true));
    await sending;
    expect(batches.map((batch) => batch.length)).toEqual([2]);
  });

  it('drops the oldest events past maxQueueSize, counting them', async () => {
    const { queue, batches } = made(queueOf({ flushAt: 1000, maxQueueSize: 2 }));
    for (const key of ['a', 'b', 'c']) queue.exposed(USER, called(key, true));
    expect(queue.status()).toMatchObject({ queued: 2, dropped: 1 });
    await queue.flush();
    expect(batches[0]!.map((event) => event.properties.$feature_flag)).toEqual(['b', 'c']);
  });

  it('keeps a batch that failed for a retry, telling the monitor, and sends nothing until it is due', async () => {
    let fail = true;
    const { queue, batches, failures } = made(
      queueOf({}, () =>
        fail ? Promise.reject(new UpstreamError('http_503', 'unavailable', '/batch')) : Promise.resolve(),
      ),
    );
    queue.exposed(USER, called('beta', true));
    await queue.flush();
    expect(failures).toEqual(['http_503']);
    expect(queue.status()).toMatchObject({ queued: 1, sent: 0, lastFailure: { reason: 'http_503' } });
    fail = false;
    await queue.flush();
    expect(batches).toHaveLength(1);
    expect(queue.status().queued).toBe(1);
  });

  it('drops a batch PostHog refuses (a 4xx), counting it', async () => {
    const { queue } = made(queueOf({}, () => Promise.reject(new UpstreamError('http_400', 'bad request', '/batch'))));
    queue.exposed(USER, called('beta', true));
    await queue.flush();
    expect(queue.status()).toMatchObject({ queued: 0, sent: 0, dropped: 1 });
  });

  it('sends what is queued when the application closes, then closes the client and takes no more', async () => {
    const { queue, batches, isClosed } = queueOf({ flushAt: 1000 });
    queue.exposed(USER, called('beta', true));
    await queue.onApplicationShutdown();
    expect(batches.map((batch) => batch.length)).toEqual([1]);
    expect(isClosed()).toBe(true);
    queue.exposed(USER, called('other', true));
    expect(queue.status()).toMatchObject({ queued: 0, sent: 1 });
  });

  it('queues nothing with sendFeatureFlagEvents off, nor for a key that cannot name a flag', () => {
    const off = made(queueOf({}, undefined, { sendFeatureFlagEvents: false }));
    off.queue.exposed(USER, called('beta', true));
    expect(off.queue.status().queued).toBe(0);
    const on = made(queueOf());
    on.queue.exposed(USER, called('lone \uD800 surrogate', true));
    expect(on.queue.status().queued).toBe(0);
  });

  it("tells a read of a result whose event was sent for the user apart, before the read's event is built", async () => {
    const { queue, batches } = made(queueOf());
    const result: FlagResult = { key: 'beta', enabled: true, source: 'cache', evaluatedAt: new Date(0) };
    const read = (): FlagCalled => ({ ...called('beta', true), result });
    expect(queue.exposureSent(USER, result)).toBe(false);
    queue.exposed(USER, read());
    expect(queue.exposureSent(USER, result)).toBe(true);
    expect(queue.exposureSent({ distinctId: 'u2' }, result)).toBe(false);
    // A group context's reads are told apart by their groups: never by the result alone.
    const inGroup: FlagContext = { distinctId: 'u1', groups: { company: 'c1' } };
    queue.exposed(inGroup, read());
    expect(queue.exposureSent(inGroup, result)).toBe(false);
    await queue.flush();
    expect(batches.flat().map((event) => event.distinct_id)).toEqual(['u1', 'u1']);
    expect(made(queueOf({}, undefined, { sendFeatureFlagEvents: false })).queue.exposureSent(USER, result)).toBe(true);
    await queue.onApplicationShutdown();
    expect(queue.exposureSent({ distinctId: 'u3' }, result)).toBe(true);
  });
});
