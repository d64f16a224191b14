import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';

/** A flag as the fake evaluates it for a user. */
export interface FakeFlag {
  enabled: boolean;
  variant?: string;
  /** Sent as PostHog does: a JSON string in `metadata.payload`. */
  payload?: unknown;
  /** Sent as `failed: true` (with `errorsWhileComputingFlags`), as newer servers do when a flag's evaluation fails. */
  failed?: boolean;
  /** Left out of the answer, with `errorsWhileComputingFlags: true`. */
  missing?: boolean;
  /** The reason's code; `condition_match` unless given. */
  reasonCode?: string;
}

/** The flags most tests evaluate: a boolean with a payload, a multivariate flag, a flag that is off. */
export const STANDARD_FLAGS: Readonly<Record<string, FakeFlag>> = {
  beta: { enabled: true, payload: { color: 'blue' } },
  checkout: { enabled: true, variant: 'test' },
  'dark-mode': { enabled: false },
};

/**
 * How the fake answers a `/flags` request: `flags` (v2 from the table), `flags-v1` (the old shape), a bare HTTP
 * status, or a failure: `hang` (accept, never answer), `reset` (drop the socket), `html`, `truncated` (cut JSON),
 * `wrong-shape`, `quota-limited`; or a function that writes the response itself.
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
export interface FlagsRequestBody {
  token?: string;
  distinct_id?: string;
  flag_keys_to_evaluate?: string[];
  [field: string]: unknown;
}

/** How the fake answers one `/batch/` request (see {@link FakePostHog.batchAnswer}). */
export type BatchAnswer = 'ok' | 'reset' | 'hang' | 'stall' | number;

/** A `/batch/` request the fake received, its gzipped JSON body decoded. */
export interface BatchRequest {
  headers: IncomingHttpHeaders;
  body: { api_key: string; batch: { event: string; distinct_id: string; properties: Record<string, unknown> }[] };
}

/** A request the fake received. */
export interface RecordedRequest {
  url: string;
  headers: IncomingHttpHeaders;
  body: FlagsRequestBody;
}

/** A real HTTP server on 127.0.0.1 standing in for PostHog's `/flags` API. */
export class FakePostHog {
  /** What it received, in order. */
  readonly requests: RecordedRequest[] = [];
  /** The answer given when no one-shot answer is queued. */
  answer: FakeAnswer = 'flags';
  /** `/flags` requests accepted and not answered yet (hanging ones included). */
  pending = 0;
  /** The most `/flags` requests ever pending at once. */
  maxPending = 0;
  /** The `/batch/` requests it accepted (answered 200). */
  readonly batches: BatchRequest[] = [];
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
   * What `GET /flags/definitions` serves (with a weak ETag of its content, `304` when `If-None-Match` has it);
   * a string is served as the body, as it is (JSON too deep for `JSON.stringify`); `undefined`: 404.
   */
  definitions?: unknown;
  /**
   * How `/flags/definitions` answers instead, while set: a bare status, `hang`, `reset`, `html` or `stall` (a 503
   * whose body is begun and never ended).
   */
  definitionsAnswer?: 'hang' | 'reset' | 'html' | 'stall' | number;
  /** The `/flags/definitions` requests it received, in order. */
  readonly definitionsRequests: { url: string; headers: IncomingHttpHeaders }[] = [];
  /** `/flags/definitions` requests accepted and not answered or dropped yet. */
  pendingDefinitions = 0;
  private readonly queued: FakeAnswer[] = [];
  private readonly table = new Map<string, Readonly<Record<string, FakeFlag>>>();
  private readonly server: Server;
  private port = 0;

  private constructor(private readonly tls?: { cert: string; key: string }) {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    this.server = tls
      ? createHttpsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, handler)
      : createServer(handler);
  }

  /** Starts a fake on an ephemeral loopback port; over TLS with this certificate (for 127.0.0.1) when given. */
  static async start(tls?: { cert: string; key: string }): Promise<FakePostHog> {
    const fake = FakePostHog.create(tls);
    await fake.accept();
    return fake;
  }

  /** A fake that does not listen yet: {@link accept} starts it. */
  static create(tls?: { cert: string; key: string }): FakePostHog {
    return new FakePostHog(tls);
  }

  /** The base URL to give the module as `host` (`https://` over TLS). */
  get url(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  /** Sets the flags answered for `distinctId`, or for every user without an entry of their own when omitted. */
  setFlags(flags: Readonly<Record<string, FakeFlag>>, distinctId = '*'): void {
    this.table.set(distinctId, flags);
  }

  /** Answers the next requests with these, in order, before returning to {@link answer}. */
  queue(...answers: FakeAnswer[]): void {
    this.queued.push(...answers);
  }

  /** Stops listening and drops open connections: new connections are refused until {@link accept}. */
  async refuse(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  /** Listens: on an ephemeral loopback port the first time, on the same port again after {@link refuse}. */
  async accept(): Promise<void> {
    await this.listen(this.port);
  }

  /** Stops the server and drops every connection, answered or hanging. */
  async stop(): Promise<void> {
    if (this.server.listening) await this.refuse();
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.url?.startsWith('/batch')) {
      await this.answerBatch(req, res, Buffer.concat(chunks));
      return;
    }
    if (req.url?.startsWith('/flags/definitions')) {
      this.answerDefinitions(req, res);
      return;
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    if (!req.url?.startsWith('/flags')) {
      // Anything else an SDK sends (posthog-node's other endpoints): accepted, not recorded.
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"Ok"}');
      return;
    }
    const body = JSON.parse(raw || '{}');
    this.requests.push({ url: req.url ?? '', headers: req.headers, body });
    this.pending++;
    this.maxPending = Math.max(this.maxPending, this.pending);
    res.once('close', () => this.pending--);
    const answer = this.queued.shift() ?? this.answer;
    if (answer === 'hang') return;
    if (typeof answer === 'function') {
      answer(res);
      return;
    }
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    if (answer === 'reset') {
      req.socket.destroy();
      return;
    }
    const [status, text] = this.render(answer, body);
    res.writeHead(status, { 'Content-Type': answer === 'html' ? 'text/html' : 'application/json' });
    res.end(text);
  }

  /** Records a `/batch/` request (from posthog-node or this module) and answers as `batchAnswer` says. */
  private async answerBatch(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const text = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
    const body = JSON.parse(text) as BatchRequest['body'];
    this.pendingBatches++;
    this.maxPendingBatches = Math.max(this.maxPendingBatches, this.pendingBatches);
    res.once('close', () => this.pendingBatches--);
    const answer = typeof this.batchAnswer === 'function' ? this.batchAnswer(body) : this.batchAnswer;
    if (answer === 'hang') return;
    if (this.batchLatencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.batchLatencyMs));
    if (answer !== 'ok' && answer !== 'stall') {
      this.refusedBatches++;
      if (answer === 'reset') req.socket.destroy();
      else res.writeHead(answer).end();
      return;
    }
    this.batches.push({ headers: req.headers, body });
    if (answer === 'stall') stallBody(res, 200);
    else res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"Ok"}');
  }

  /** The ETag of what {@link definitions} serves now. */
  get definitionsEtag(): string {
    return `W/"${createHash('sha1').update(JSON.stringify(this.definitions)).digest('hex')}"`;
  }

  /** Serves {@link definitions} as PostHog does: ETag, `304` on a matching `If-None-Match`. */
  private answerDefinitions(req: IncomingMessage, res: ServerResponse): void {
    this.definitionsRequests.push({ url: req.url ?? '', headers: req.headers });
    this.pendingDefinitions++;
    res.once('close', () => this.pendingDefinitions--);
    const answer = this.definitionsAnswer;
    if (answer === 'hang') return;
    if (answer === 'reset') {
      req.socket.destroy();
      return;
    }
    if (answer === 'html') {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>Bad gateway</html>');
      return;
    }
    if (answer === 'stall') {
      stallBody(res, 503);
      return;
    }
    if (typeof answer === 'number') {
      const body = answer === 402 ? { type: 'quota_limited', detail: 'over quota' } : { detail: `status ${answer}` };
      res.writeHead(answer, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    if (this.definitions === undefined) {
      res.writeHead(404).end();
      return;
    }
    const etag = this.definitionsEtag;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { ETag: etag }).end();
      return;
    }
    const body = typeof this.definitions === 'string' ? this.definitions : JSON.stringify(this.definitions);
    res.writeHead(200, { 'Content-Type': 'application/json', ETag: etag }).end(body);
  }

  /** Every event of every accepted `/batch/` request, in order. */
  get events(): BatchRequest['body']['batch'] {
    return this.batches.flatMap((batch) => batch.body.batch);
  }

  private render(
    answer: Exclude<FakeAnswer, 'hang' | 'reset' | ((response: ServerResponse) => void)>,
    body: FlagsRequestBody,
  ): [number, string] {
    if (typeof answer === 'number') return [answer, JSON.stringify({ detail: `status ${answer}` })];
    switch (answer) {
      case 'html':
        return [200, '<html><body>Bad gateway</body></html>'];
      case 'truncated':
        return [200, this.v2(body).slice(0, 25)];
      case 'wrong-shape':
        return [200, JSON.stringify({ flags: ['beta'], featureFlags: 'yes' })];
      case 'quota-limited':
        return [200, JSON.stringify({ flags: {}, quotaLimited: ['feature_flags'], errorsWhileComputingFlags: false })];
      case 'flags-v1':
        return [200, this.v1(body)];
      case 'flags':
        return [200, this.v2(body)];
    }
  }

  /** The table's flags for the request's user, limited to `flag_keys_to_evaluate`. */
  private flagsFor(body: FlagsRequestBody): [string, FakeFlag][] {
    const flags = this.table.get(body.distinct_id ?? '*') ?? this.table.get('*') ?? {};
    const only: string[] | undefined = body.flag_keys_to_evaluate;
    return Object.entries(flags).filter(([key]) => !only || only.includes(key));
  }

  private v2(body: FlagsRequestBody): string {
    const flags: Record<string, unknown> = Object.create(null);
    let errors = false;
    for (const [key, flag] of this.flagsFor(body)) {
      errors ||= Boolean(flag.failed || flag.missing);
      if (flag.missing) continue;
      flags[key] = flag.failed
        ? { key, enabled: false, failed: true, reason: { code: 'error', description: 'Evaluation failed' } }
        : {
            key,
            enabled: flag.enabled,
            ...(flag.variant ? { variant: flag.variant } : {}),
            reason: {
              code: flag.reasonCode ?? 'condition_match',
              condition_index: 0,
              description: 'Condition set 1 matched',
            },
            metadata: {
              id: 1,
              version: 1,
              ...(flag.payload === undefined ? {} : { payload: JSON.stringify(flag.payload) }),
            },
          };
    }
    return JSON.stringify({ flags, errorsWhileComputingFlags: errors, requestId: 'fake-request' });
  }

  private v1(body: FlagsRequestBody): string {
    const featureFlags: Record<string, boolean | string> = Object.create(null);
    const featureFlagPayloads: Record<string, string> = Object.create(null);
    for (const [key, flag] of this.flagsFor(body)) {
      featureFlags[key] = flag.variant ?? flag.enabled;
      if (flag.payload !== undefined) featureFlagPayloads[key] = JSON.stringify(flag.payload);
    }
    return JSON.stringify({ featureFlags, featureFlagPayloads });
  }
}

/** Writes the headers of a `status` answer and the start of its JSON body, and never ends it (a stalled body). */
export function stallBody(response: ServerResponse, status: number): void {
  response.writeHead(status, { 'Content-Type': 'application/json' }).write('{"detail":');
}
