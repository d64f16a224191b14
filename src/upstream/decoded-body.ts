import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

/** The decoders for the `Content-Encoding`s PostHog may send; any other value is read as it is. */
const DECODERS: ReadonlyMap<string, () => Transform> = new Map([
  ['gzip', createGunzip],
  ['x-gzip', createGunzip],
  ['deflate', createInflate],
  ['br', createBrotliDecompress],
]);

/** The decoder for a `Content-Encoding` header, or none: the body is read as it is. */
export function decoderFor(encoding: unknown): (() => Transform) | undefined {
  return typeof encoding === 'string' ? DECODERS.get(encoding.trim().toLowerCase()) : undefined;
}

/** What a {@link BodyDecoder} hands its output to: the exchange reading the body. */
export interface DecodedBodySink {
  /** One decoded chunk, in order. */
  decoded(chunk: Buffer): void;
  /** The whole body is decoded. */
  decodedEnd(): void;
  /** The body is not validly encoded (zlib's or brotli's error). */
  decodeFailed(error: Error): void;
}

/** Pausing and resuming the body as it comes off the socket: undici's dispatch controller. */
export interface BodyFlow {
  pause(): void;
  resume(): void;
}

/**
 * A compressed body decoded as it comes off the socket: each chunk written into a zlib stream, whose output goes
 * to the sink chunk by chunk (so that the reader can stop at its bound after at most one more chunk, a compression
 * bomb included). When the decoder's input buffer is full, the socket is paused until it drains.
 */
export class BodyDecoder {
  constructor(
    private readonly stream: Transform,
    sink: DecodedBodySink,
    private readonly flow: BodyFlow,
  ) {
    stream.on('data', (chunk: Buffer) => sink.decoded(chunk));
    stream.on('end', () => sink.decodedEnd());
    stream.on('error', (error: Error) => sink.decodeFailed(error));
    stream.on('drain', () => flow.resume());
  }

  /** Decodes one chunk of the body, pausing the socket while the decoder is behind. */
  write(chunk: Buffer): void {
    if (!this.stream.write(chunk)) this.flow.pause();
  }

  /** The body ended: decodes what is left, then ends the output. */
  end(): void {
    this.stream.end();
  }

  /** Stops decoding (the exchange ended otherwise); nothing more reaches the sink. */
  destroy(): void {
    this.stream.destroy();
  }
}
