import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate, type Gunzip } from 'node:zlib';
import { UpstreamError } from './upstream-error.js';

/** The decoders for the `Content-Encoding`s PostHog may send; any other value is read as it is. */
const DECODERS: ReadonlyMap<string, () => Gunzip | ReturnType<typeof createBrotliDecompress>> = new Map([
  ['gzip', createGunzip],
  ['x-gzip', createGunzip],
  ['deflate', createInflate],
  ['br', createBrotliDecompress],
]);

/** The bound on one body, and the endpoint its errors name. */
export interface BodyLimit {
  /** The most decoded bytes read. */
  maxBytes: number;
  /** The endpoint, in error messages. */
  endpoint: string;
}

/**
 * The body as UTF-8 text, decoded (gzip, deflate, br) as it streams in, failing with `too_large` as soon as the
 * decoded bytes pass `maxBytes`: a huge body or a compression bomb costs at most that much memory, and the
 * connection under it is closed. A transport error or a corrupt encoding rejects with an {@link UpstreamError}
 * from the caller's mapping (the error propagates as it is).
 */
export async function readDecodedText(body: Readable, encoding: unknown, limit: BodyLimit): Promise<string> {
  const decoder = typeof encoding === 'string' ? DECODERS.get(encoding.trim().toLowerCase()) : undefined;
  const stream: Readable = decoder ? pipeline(body, decoder(), () => {}) : body;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).byteLength;
    if (size > limit.maxBytes) {
      // Leaving the loop destroys the stream (and, through the pipeline, the body and its connection).
      throw new UpstreamError('too_large', `the body is larger than ${limit.maxBytes} bytes`, limit.endpoint);
    }
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8');
}
