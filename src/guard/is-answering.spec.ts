import { describe, expect, it } from '@jest/globals';
import type { ServerResponse } from 'node:http';
import { isAnswering } from './is-answering.js';

/** A response in the given state. */
const response = (state: Partial<ServerResponse>) => state as ServerResponse;

describe('isAnswering', () => {
  it('is true until the response has finished, read each time it is asked', () => {
    const state: { writableFinished: boolean } = { writableFinished: false };
    const answering = isAnswering(response(state));
    expect(answering()).toBe(true);
    state.writableFinished = true;
    expect(answering()).toBe(false);
  });

  it('is false for a response destroyed before it finished (the client went away)', () => {
    expect(isAnswering(response({ writableFinished: false, destroyed: true }))()).toBe(false);
  });

  it("reads the raw response inside Fastify's reply", () => {
    const raw = { writableFinished: false } as { writableFinished: boolean };
    const answering = isAnswering({ raw: raw as unknown as ServerResponse });
    expect(answering()).toBe(true);
    raw.writableFinished = true;
    expect(answering()).toBe(false);
  });
});
