import { describe, expect, it } from '@jest/globals';
import { UpstreamError } from '../pipeline/upstream-error.js';
import { readRemoteConfigAnswer } from './remote-config-client.js';

const answer = (status: number, text?: string) => readRemoteConfigAnswer({ status, headers: {}, text });

describe('readRemoteConfigAnswer', () => {
  it("parses as posthog-node does: a JSON string's JSON, a string that is not JSON kept, other values as they are", () => {
    expect(answer(200, JSON.stringify('{"a":1}'))).toEqual({ found: true, payload: { a: 1 } });
    expect(answer(200, JSON.stringify('12'))).toEqual({ found: true, payload: 12 });
    expect(answer(200, JSON.stringify('hello'))).toEqual({ found: true, payload: 'hello' });
    expect(answer(200, '{"a":1}')).toEqual({ found: true, payload: { a: 1 } });
    expect(answer(200, 'null')).toEqual({ found: true, payload: null });
  });

  it('404: no payload; another status or a body that is not JSON: an UpstreamError naming no key', () => {
    expect(answer(404)).toEqual({ found: false });
    for (const [status, text, reason] of [
      [500, undefined, 'http_500'],
      [401, undefined, 'http_401'],
      [302, undefined, 'http_302'],
      [200, '<html>', 'bad_response'],
      [204, '', 'bad_response'],
    ] as const) {
      expect(() => answer(status, text)).toThrow(expect.objectContaining({ reason }) as unknown as UpstreamError);
    }
    expect(() => answer(500)).toThrow('PostHog /remote_config failed (http_500)');
  });
});
