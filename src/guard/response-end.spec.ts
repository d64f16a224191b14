import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { MAX_REUSE_MS, responseEnd } from './response-end.js';

/** A response that has not ended yet. */
const openResponse = () => new EventEmitter() as unknown as ServerResponse;

describe('responseEnd', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('settles when the response closes, and clears its timer', async () => {
    const response = openResponse();
    const ended = responseEnd(response);
    expect(jest.getTimerCount()).toBe(1);
    (response as unknown as EventEmitter).emit('close');
    await ended;
    expect(jest.getTimerCount()).toBe(0);
  });

  it('settles after MAX_REUSE_MS for a response that goes on (streaming)', async () => {
    let settled = false;
    void responseEnd(openResponse()).then(() => (settled = true));
    await jest.advanceTimersByTimeAsync(MAX_REUSE_MS - 1);
    expect(settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(settled).toBe(true);
  });

  it("unwraps Fastify's reply and settles at once for a finished response", async () => {
    const finished = { writableFinished: true } as unknown as ServerResponse;
    await responseEnd({ raw: finished });
    expect(jest.getTimerCount()).toBe(0);
  });
});
