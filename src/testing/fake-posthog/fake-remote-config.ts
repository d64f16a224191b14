import type { IncomingHttpHeaders } from 'node:http';
import { BadRequestBody } from './fake-request-body.js';

/** A `GET /api/projects/@current/feature_flags/{key}/remote_config` request the fake received. */
export interface FakeRemoteConfigRequest {
  /** The request's path and query, as sent (the key percent-encoded, `?token=...`). */
  url: string;
  headers: IncomingHttpHeaders;
  /** The flag key, percent-decoded from the path. */
  key: string;
  /** The `token` query parameter (the project API key), `''` when absent. */
  token: string;
}

/** An answer of the remote config endpoint: a status and the JSON value of its body. */
export interface FakeRemoteConfigAnswer {
  status: number;
  body: unknown;
}

/** The path the endpoint is served under, the key's segment still encoded in the middle. */
const REMOTE_CONFIG_PATH = /^\/api\/projects\/@current\/feature_flags\/([^/]+)\/remote_config$/;

/**
 * The flag key of a remote config path (`/api/projects/@current/feature_flags/{key}/remote_config`, no trailing
 * slash, no query), percent-decoded; `undefined` for any other path, `null` for a key that is not validly encoded.
 * @internal
 */
export function remoteConfigKey(path: string): string | null | undefined {
  const match = REMOTE_CONFIG_PATH.exec(path);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return null;
  }
}

/**
 * The remote config request of a request to `path` (its path without query, `url` with it), when the path is one;
 * `undefined` for any other path.
 * @throws {BadRequestBody} for a key that is not validly percent-encoded.
 * @internal
 */
export function remoteConfigRequest(
  path: string,
  url: string,
  headers: IncomingHttpHeaders,
): FakeRemoteConfigRequest | undefined {
  const key = remoteConfigKey(path);
  if (key === null) throw new BadRequestBody(400, 'the flag key is not validly percent-encoded');
  if (key === undefined) return undefined;
  return { url, headers, key, token: new URL(url, 'http://fake').searchParams.get('token') ?? '' };
}

/**
 * The remote config payloads of the fake's project, by flag key (a `Map`: keys from outside), and how the endpoint
 * answers: the payload as the body's JSON value with `200`; `404` for a key without one; `401` without a bearer
 * key, as PostHog answers.
 * @internal
 */
export class FakeRemoteConfigs {
  private readonly payloads = new Map<string, unknown>();

  /** Sets the body's JSON value for `key`; `undefined` removes it (`404`). */
  set(key: string, payload: unknown): void {
    if (payload === undefined) this.payloads.delete(key);
    else this.payloads.set(key, payload);
  }

  /** Removes every payload. */
  clear(): void {
    this.payloads.clear();
  }

  /** The answer to a request for `key` with these headers. */
  answer(key: string, headers: IncomingHttpHeaders): FakeRemoteConfigAnswer {
    if (!/^Bearer \S+$/.test(headers.authorization ?? '')) {
      return { status: 401, body: { type: 'authentication_error', detail: 'a personal API key is required' } };
    }
    if (!this.payloads.has(key)) return { status: 404, body: { type: 'invalid_request', detail: 'Not found.' } };
    return { status: 200, body: this.payloads.get(key) };
  }
}
