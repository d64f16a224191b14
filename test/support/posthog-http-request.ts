import type { PostHogRequest } from '../../src/upstream/posthog-request.js';

/**
 * A `GET /flags/?v=2` for the HTTP client's specs: no headers, a minute's timer, the body of a `200` read (1 KiB at
 * most); `overrides` replace any of these.
 */
export function flagsGet(overrides: Partial<PostHogRequest> = {}): PostHogRequest {
  return {
    method: 'GET',
    path: '/flags/?v=2',
    headers: {},
    timeoutMs: 60_000,
    readBodyOf: (status) => status === 200,
    maxResponseBytes: 1024,
    ...overrides,
  };
}
