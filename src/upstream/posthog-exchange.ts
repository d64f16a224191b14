import type { Dispatcher } from 'undici';
import type { AbortableRequest } from './abortable-request.js';
import { BodyDecoder, decoderFor, type DecodedBodySink } from './decoded-body.js';
import type { PostHogRequest, PostHogResponse } from './posthog-request.js';
import { UpstreamError } from '../pipeline/upstream-error.js';
import { transportError } from './transport-error.js';

/** The most bytes of an unwanted body drained to keep its connection; a longer one closes the connection. */
const DISCARDED_BODY_LIMIT = 64 * 1024;

/**
 * Why the connection under an unwanted body is closed (past the drain limit, or not ended at the timer or an
 * abort): seen by undici only (the exchange has resolved), so made once.
 */
const DISCARDED_BODY_CUT = new Error('an unwanted body not drained');

/**
 * One exchange with PostHog, as undici's `Pool.dispatch` drives it (its handler), and as the caller holds it
 * (`response`, `abort()`): no stream, no promise per step, no `AbortSignal` of its own.
 *
 * It settles once: with the answer when its body ends, read or not; or with an {@link UpstreamError}, on a
 * transport failure, a body past `maxResponseBytes` decoded (`too_large`), a corrupt encoding, its own timer
 * (`timeout`), `abort()` or the caller's signal. A body of a status `readBodyOf` rejects is drained unread, keeping
 * the connection; once its status is in, the answer is known, so past 64 KiB, at the timer or on an abort the
 * exchange settles with that answer and closes the connection under the rest of the body. Every failure also aborts
 * the request in undici (closing its connection), at once or as soon as undici starts it. So whenever the exchange
 * has settled, its connection is free or closed: never still held by a body (undici would wait 300 s for one that
 * stalls), and a caller counting its exchanges counts the pool's busy connections. Every ending stops the timer and
 * lets go of the caller's signal.
 */
export class PostHogExchange implements Dispatcher.DispatchHandler, AbortableRequest<PostHogResponse>, DecodedBodySink {
  readonly response: Promise<PostHogResponse>;
  private resolve!: (response: PostHogResponse) => void;
  private reject!: (error: UpstreamError) => void;
  /** Whether `response` has settled: every later event is ignored. */
  private settled = false;
  /** Why the exchange failed: what undici's request is aborted with, when it starts after that. */
  private failure: UpstreamError | undefined;
  private controller: Dispatcher.DispatchController | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The listener on the caller's signal, when there is one. */
  private onAbort: (() => void) | undefined;
  /** The answer whose body is being read or drained. */
  private answer: PostHogResponse | undefined;
  /** Whether the body is drained unread (a status `readBodyOf` rejects). */
  private discarding = false;
  private decoder: BodyDecoder | undefined;
  private chunks: Buffer[] | undefined;
  /** The bytes read (decoded) or, for an unwanted body, drained. */
  private size = 0;

  constructor(
    private readonly request: PostHogRequest,
    /** The endpoint, in error messages. */
    private readonly endpoint: string,
  ) {
    this.response = new Promise<PostHogResponse>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    const { signal, timeoutMs } = request;
    if (signal?.aborted) {
      this.abort();
      return;
    }
    if (signal) {
      this.onAbort = () => this.abort();
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
    this.timer = setTimeout(() => this.expire(timeoutMs), timeoutMs);
  }

  /** Whether the answer's status is in and its body, unread, is being dropped. */
  get discardingBody(): boolean {
    return this.discarding;
  }

  /** Whether the exchange has ended before it was dispatched (an aborted signal): it need not be. */
  get ended(): boolean {
    return this.settled;
  }

  /**
   * Ends the exchange if it has not settled, aborting its request: with the answer when its status is in and its
   * body is drained unread, else with a failure. Once it has settled, does nothing.
   */
  abort(): void {
    if (this.settled) return;
    if (this.discarding) this.cutDiscardedBody();
    else this.fail(new UpstreamError('network', 'the request was aborted', this.endpoint));
  }

  /** Undici starts the request: aborts it at once when the exchange has already failed. */
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.failure) controller.abort(this.failure);
  }

  /** The status and headers: starts reading the body, or draining it for a status whose body is not read. */
  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    // A 1xx is informational: the answer follows.
    if (status < 200 || this.settled) return;
    this.answer = { status, headers };
    if (!this.request.readBodyOf(status)) {
      this.discarding = true;
      if (Number(headers['content-length']) > DISCARDED_BODY_LIMIT) this.cutDiscardedBody();
      return;
    }
    this.chunks = [];
    const decoder = decoderFor(headers['content-encoding']);
    if (decoder) this.decoder = new BodyDecoder(decoder(), this, controller);
  }

  /** A chunk of the body, as sent: drained, decoded or kept. */
  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    // Once settled before the end, the request is being aborted: what still comes is dropped.
    if (this.settled) return;
    if (this.discarding) {
      this.size += chunk.byteLength;
      if (this.size > DISCARDED_BODY_LIMIT) this.cutDiscardedBody();
      return;
    }
    if (this.decoder) this.decoder.write(chunk);
    else this.decoded(chunk);
  }

  /** The body ended: the answer, once the decoder (if any) has decoded what is left. */
  onResponseEnd(): void {
    if (this.answer === undefined || this.settled) return;
    if (this.discarding) this.succeed(this.answer);
    else if (this.decoder) this.decoder.end();
    else this.decodedEnd();
  }

  /** Undici's failure (a transport error, the pool destroyed, or the abort of one of ours, already settled). */
  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (!this.settled) this.fail(transportError(error, this.endpoint), false);
  }

  /** Keeps one chunk of the body (decoded), failing with `too_large` past `maxResponseBytes`. */
  decoded(chunk: Buffer): void {
    if (this.settled) return;
    this.size += chunk.byteLength;
    if (this.size > this.request.maxResponseBytes) {
      const limit = this.request.maxResponseBytes;
      this.fail(new UpstreamError('too_large', `the body is larger than ${limit} bytes`, this.endpoint));
      return;
    }
    this.chunks!.push(chunk);
  }

  /** The whole body is read: the answer, its body as UTF-8 text. */
  decodedEnd(): void {
    if (this.settled) return;
    const answer = this.answer!;
    const chunks = this.chunks!;
    answer.text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, this.size).toString('utf8');
    this.succeed(answer);
  }

  /** The body is not validly compressed: `bad_response`. */
  decodeFailed(error: Error): void {
    if (!this.settled) this.fail(transportError(error, this.endpoint));
  }

  /** The timer ran out: a failure, unless the answer is known and only its unwanted body is missing. */
  private expire(ms: number): void {
    this.timer = undefined;
    if (this.discarding) this.cutDiscardedBody();
    else this.fail(new UpstreamError('timeout', `no answer within ${ms} ms`, this.endpoint));
  }

  /** Settles with the answer whose body is drained unread, closing the connection under the rest of the body. */
  private cutDiscardedBody(): void {
    this.succeed(this.answer!);
    this.controller?.abort(DISCARDED_BODY_CUT);
  }

  private succeed(answer: PostHogResponse): void {
    this.end();
    this.resolve(answer);
  }

  /** Rejects with `error` (once) and, unless undici reported it, aborts the request and stops the decoder. */
  private fail(error: UpstreamError, abortRequest = true): void {
    if (this.settled) return;
    this.end();
    this.failure = error;
    this.reject(error);
    this.decoder?.destroy();
    if (abortRequest) this.controller?.abort(error);
  }

  /** What every ending does: marks the exchange settled, stops the timer, lets go of the caller's signal. */
  private end(): void {
    this.settled = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.onAbort) this.request.signal!.removeEventListener('abort', this.onAbort);
  }
}
