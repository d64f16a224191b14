import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { FakePostHog as PublicFakePostHog } from '../../src/testing/index.js';
import type { FakeBatch, FakeFlagAnswer, FakeFlagsRequest, FakeFlagsRequestBody } from '../../src/testing/index.js';

/**
 * Our own tests' PostHog: the public `FakePostHog` (from `nestjs-posthog-flags/testing`, which speaks the API),
 * plus what only this library's tests need: answers PostHog would never give (cut JSON, HTML, the old v1 shape,
 * reset sockets), one-shot answers, latency, counts of requests in flight, TLS, and a whole table per user.
 */

/**
 * The `flag_keys_to_evaluate` of each `/flags` call `fake` received while `run` ran (`every` for a call that named
 * no keys), in order.
 */
export async function keysAskedWhile(
  fake: PublicFakePostHog,
  run: () => Promise<unknown>,
): Promise<(string[] | 'every')[]> {
  const before = fake.requests.length;
  await run();
  return fake.requests.slice(before).map(({ body }) => body.flag_keys_to_evaluate ?? 'every');
}

/** A flag as the fake evaluates it for a user. */
export interface FakeFlag {
  enabled: boolean;
  variant?: string;
  /** Sent as PostHog does: a JSON string in `metadata.payload`. */
  payload?: unknown;
  /** Sent as `failed: true` (with `errorsWhileComputingFlags`), as newer servers do when a flag's evaluation fails. */
  failed?: boolean;
  /** The reason's code; `condition_match` (on) or `no_condition_match` (off) unless given. */
  reasonCode?: string;
}

/** The flags most tests evaluate: a boolean with a payload, a multivariate flag, a flag that is off. */
export const STANDARD_FLAGS: Readonly<Record<string, FakeFlag>> = {
  beta: { enabled: true, payload: { color: 'blue' } },
  checkout: { enabled: true, variant: 'test' },
  'dark-mode': { enabled: false },
};

/** A {@link FakeFlag} as the public fake takes it. */
function settingOf(flag: FakeFlag): FakeFlagAnswer {
  const value = flag.enabled ? (flag.variant ?? true) : false;
  return { value, payload: flag.payload, reason: flag.reasonCode, failed: flag.failed };
}

/** The public fake, started, answering {@link STANDARD_FLAGS}: for tests that need none of our extras. */
export async function startStandardPostHog(): Promise<PublicFakePostHog> {
  const fake = await PublicFakePostHog.start();
  for (const [key, flag] of Object.entries(STANDARD_FLAGS)) fake.setFlag(key, settingOf(flag));
  return fake;
}

/**
 * How the fake answers a `/flags` request: `flags` (v2 from the table, or the public outage in force), `flags-v1`
 * (the old shape), a bare HTTP status, or a failure: `hang` (accept, never answer), `reset` (drop the socket),
 * `html`, `truncated` (cut JSON), `wrong-shape`, `quota-limited`; or a function that writes the response itself.
 */
export type FakeAnswer =
  | 'flags'
  | 'flags-v1'
  | 'hang'
  | 'reset'
  | 'html'
  | 'truncated'
  | 'wrong-shape'
  | 'quota-limited'
  | number
  | ((response: ServerResponse) => void);

/** The JSON body of a `/flags` request, as far as the fake reads it. */
export type FlagsRequestBody = FakeFlagsRequestBody;

/** How the fake answers one `/batch/` request (see {@link FakePostHog.batchAnswer}). */
export type BatchAnswer = 'ok' | 'reset' | 'hang' | 'stall' | number;

/** A `/batch/` request the fake received, its gzipped JSON body decoded. */
export type BatchRequest = FakeBatch;

/** A `/flags` request the fake received. */
export type RecordedRequest = FakeFlagsRequest;

/** A real HTTP(S) server on 127.0.0.1 standing in for PostHog, with our tests' extra answers. */
export class FakePostHog extends PublicFakePostHog {
  /** The answer given when no one-shot answer is queued. */
  answer: FakeAnswer = 'flags';
  /** `/flags` requests accepted and not answered yet (hanging ones included). */
  pending = 0;
  /** The most `/flags` requests ever pending at once. */
  maxPending = 0;
  /**
   * How `/batch/` answers: `ok` (200, recorded), a bare status, `reset` (drop the socket), `hang` (accept, never
   * answer), `stall` (200, recorded, then a body begun and never ended), or a function of the request's body that
   * says which of these (`413` for a batch too large, say).
   */
  batchAnswer: BatchAnswer | ((body: BatchRequest['body']) => BatchAnswer) = 'ok';
  /** Milliseconds to wait before answering a `/batch/` request. */
  batchLatencyMs = 0;
  /** The `/batch/` requests it refused or dropped. */
  refusedBatches = 0;
  /** `/batch/` requests accepted and not answered or dropped yet (hanging ones included). */
  pendingBatches = 0;
  /** The most `/batch/` requests ever pending at once. */
  maxPendingBatches = 0;
  /** Milliseconds to wait before answering a `/flags` request, as a real network would. */
  latencyMs = 0;
  /**
   * How `/flags/definitions` answers instead, while set: a bare status, `hang`, `reset`, `html` or `stall` (a 503
   * whose body is begun and never ended).
   */
  definitionsAnswer?: 'hang' | 'reset' | 'html' | 'stall' | number;
  /** `/flags/definitions` requests accepted and not answered or dropped yet. */
  pendingDefinitions = 0;
  /** While set, `/flags/definitions` requests wait for it to settle before they are answered (a poll held open). */
  definitionsGate?: Promise<unknown>;
  private readonly queued: FakeAnswer[] = [];

  private constructor(private readonly tls?: { cert: string; key: string }) {
    super();
  }

  /** Starts a fake on an ephemeral loopback port; over TLS with this certificate (for 127.0.0.1) when given. */
  static override async start(tls?: { cert: string; key: string }): Promise<FakePostHog> {
    const fake = FakePostHog.create(tls);
    await fake.accept();
    return fake;
  }

  /** A fake that does not listen yet: {@link accept} starts it. */
  static create(tls?: { cert: string; key: string }): FakePostHog {
    return new FakePostHog(tls);
  }

  /**
   * Sets the flags answered for `distinctId`, or replaces the whole table (every user's) when omitted: a key set
   * for a user only is off for the others.
   */
  setFlags(flags: Readonly<Record<string, FakeFlag>>, distinctId?: string): void {
    if (distinctId === undefined) this.clearFlags();
    for (const [key, flag] of Object.entries(flags)) this.setFlag(key, settingOf(flag), { distinctId });
  }

  /** Answers the next requests with these, in order, before returning to {@link answer}. */
  queue(...answers: FakeAnswer[]): void {
    this.queued.push(...answers);
  }

  /** Stops listening and drops open connections: new connections are refused until {@link accept}. */
  refuse(): Promise<void> {
    return this.stopListening();
  }

  /** Listens: on an ephemeral loopback port the first time, on the same port again after {@link refuse}. */
  accept(): Promise<void> {
    return this.listen();
  }

  /** Stops the server and drops every connection, answered or hanging. */
  stop(): Promise<void> {
    return this.close();
  }

  protected override get scheme(): string {
    return this.tls ? 'https' : 'http';
  }

  protected override createServer(listener: RequestListener): Server {
    if (!this.tls) return super.createServer(listener);
    return createHttpsServer({ cert: readFileSync(this.tls.cert), key: readFileSync(this.tls.key) }, listener);
  }

  protected override async serveFlags(response: ServerResponse, request: RecordedRequest): Promise<void> {
    this.pending++;
    this.maxPending = Math.max(this.maxPending, this.pending);
    response.once('close', () => this.pending--);
    const answer = this.queued.shift() ?? this.answer;
    if (answer === 'hang') return;
    if (typeof answer === 'function') return answer(response);
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    if (answer === 'reset') return void response.socket?.destroy();
    if (answer === 'flags') return super.serveFlags(response, request);
    const [status, text] = this.render(answer, request.body);
    response.writeHead(status, { 'Content-Type': answer === 'html' ? 'text/html' : 'application/json' }).end(text);
  }

  protected override serveDefinitions(request: IncomingMessage, response: ServerResponse): void {
    this.pendingDefinitions++;
    response.once('close', () => this.pendingDefinitions--);
    const gate = this.definitionsGate;
    if (gate) return void gate.then(() => this.answerDefinitions(request, response));
    this.answerDefinitions(request, response);
  }

  private answerDefinitions(request: IncomingMessage, response: ServerResponse): void {
    const answer = this.definitionsAnswer;
    if (answer === undefined) return super.serveDefinitions(request, response);
    if (answer === 'hang') return;
    if (answer === 'reset') return void response.socket?.destroy();
    if (answer === 'html')
      return void response.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>Bad gateway</html>');
    if (answer === 'stall') return stallBody(response, 503);
    this.writeOutage(response, 'definitions', answer);
  }

  protected override async serveBatch(response: ServerResponse, batch: BatchRequest): Promise<void> {
    this.pendingBatches++;
    this.maxPendingBatches = Math.max(this.maxPendingBatches, this.pendingBatches);
    response.once('close', () => this.pendingBatches--);
    const answer = typeof this.batchAnswer === 'function' ? this.batchAnswer(batch.body) : this.batchAnswer;
    if (answer === 'hang') return;
    if (this.batchLatencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.batchLatencyMs));
    if (answer === 'ok') return super.serveBatch(response, batch);
    if (answer === 'stall') {
      this.batches.push(batch);
      return stallBody(response, 200);
    }
    this.refusedBatches++;
    if (answer === 'reset') response.socket?.destroy();
    else response.writeHead(answer).end();
  }

  /** Anything else an SDK sends (posthog-node's other endpoints): accepted, not recorded. */
  protected override serveOther(response: ServerResponse): void {
    response.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"Ok"}');
  }

  private render(
    answer: Exclude<FakeAnswer, 'flags' | 'hang' | 'reset' | ((response: ServerResponse) => void)>,
    body: FlagsRequestBody,
  ): [number, string] {
    if (typeof answer === 'number') return [answer, JSON.stringify({ detail: `status ${answer}` })];
    switch (answer) {
      case 'html':
        return [200, '<html><body>Bad gateway</body></html>'];
      case 'truncated':
        return [200, JSON.stringify(this.flagsAnswer(body)).slice(0, 25)];
      case 'wrong-shape':
        return [200, JSON.stringify({ flags: ['beta'], featureFlags: 'yes' })];
      case 'quota-limited':
        return [200, JSON.stringify({ flags: {}, quotaLimited: ['feature_flags'], errorsWhileComputingFlags: false })];
      case 'flags-v1':
        return [200, this.v1(body)];
    }
  }

  /** The old `/flags` shape of the table's answer. */
  private v1(body: FlagsRequestBody): string {
    const featureFlags = Object.create(null) as Record<string, boolean | string>;
    const featureFlagPayloads = Object.create(null) as Record<string, string>;
    const { flags } = this.flagsAnswer(body) as { flags: Record<string, Record<string, unknown>> };
    for (const [key, flag] of Object.entries(flags)) {
      featureFlags[key] = (flag.variant as string | undefined) ?? (flag.enabled as boolean);
      const payload = (flag.metadata as { payload?: string } | undefined)?.payload;
      if (payload !== undefined) featureFlagPayloads[key] = payload;
    }
    return JSON.stringify({ featureFlags, featureFlagPayloads });
  }
}

/** Writes the headers of a `status` answer and the start of its JSON body, and never ends it (a stalled body). */
export function stallBody(response: ServerResponse, status: number): void {
  response.writeHead(status, { 'Content-Type': 'application/json' }).write('{"detail":');
}
