import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { FakeBatch } from './fake-posthog.types.js';

/** The most bytes the fake reads of a request's body, and decompresses a gzipped one to. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** A body the fake could not read: too large, not gzip though it said so, not JSON. @internal */
export class BadRequestBody extends Error {
  constructor(
    readonly status: 400 | 413,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The request's body as text, gunzipped when `Content-Encoding: gzip` says so, at most {@link MAX_BODY_BYTES}.
 * @throws {BadRequestBody} when it is larger, or not gzip.
 * @internal
 */
export async function readRequestText(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BadRequestBody(413, 'body too large');
    chunks.push(chunk as Buffer);
  }
  const raw = Buffer.concat(chunks);
  if (request.headers['content-encoding'] !== 'gzip') return raw.toString('utf8');
  try {
    return gunzipSync(raw, { maxOutputLength: MAX_BODY_BYTES }).toString('utf8');
  } catch {
    throw new BadRequestBody(400, 'Content-Encoding: gzip, but the body is not gzip (or inflates too large)');
  }
}

/**
 * The JSON object in `text` (`{}` for an empty body).
 * @throws {BadRequestBody} when it is not a JSON object.
 * @internal
 */
export function parseJsonObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text || '{}');
  } catch {
    throw new BadRequestBody(400, 'the body is not JSON');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new BadRequestBody(400, 'not a JSON object');
  return value as Record<string, unknown>;
}

/** A weak ETag of a text: its SHA-1, so that any change of content changes it. @internal */
export function weakEtag(text: string): string {
  return `W/"${createHash('sha1').update(text).digest('hex')}"`;
}

/** A `/batch/` body: `{ api_key, batch: [...] }`. @throws {BadRequestBody} when it is not. @internal */
export function batchBody(text: string): FakeBatch['body'] {
  const body = parseJsonObject(text);
  if (!Array.isArray(body.batch)) throw new BadRequestBody(400, 'a /batch/ body holds a "batch" array');
  return body as unknown as FakeBatch['body'];
}
