import { describe, expect, it } from '@jest/globals';
import type { ServerResponse } from 'node:http';
import { isAnswering } from './is-answering.js';

/** A response in the given state. */
const response = (state: Partial<ServerResponse>) => state as ServerResponse;

describe('isAnswering', () => {
  it('is true until the response has been ended, read each time it is asked', () => {
    const state: { writableEnded: boolean } = { writableEnded: false };
    const answering = isAnswering(response(state));
    expect(answering()).toBe(true);
    state.writableEnded = true;
    expect(answering()).toBe(false);
  });

  it('is false for a response destroyed before it ended (the client went away)', () => {
    expect(isAnswering(response({ writableEnded: false, destroyed: true }))()).toBe(false);
  });

  it("reads the raw response inside Fastify's reply", () => {
    const raw = { writableEnded: false } as { writableEnded: boolean };
    const answering = isAnswering({ raw: raw as unknown as ServerResponse });
    expect(answering()).toBe(true);
    raw.writableEnded = true;
    expect(answering()).toBe(false);
  });
});
