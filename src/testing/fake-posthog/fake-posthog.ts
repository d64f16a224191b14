import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeFlagTable } from './fake-flag-table.js';
import type {
  FakeBatch,
  FakeDefinitionsRequest,
  FakeEvent,
  FakeFlagSetting,
  FakeFlagsRequest,
  FakeFlagsRequestBody,
  FakeOutage,
  FakeOutageOptions,
} from './fake-posthog.types.js';
import { BadRequestBody, batchBody, parseJsonObject, readRequestText, weakEtag } from './fake-request-body.js';
import { checkOutage } from './fake-outage.js';
import { FakeRemoteConfigs, remoteConfigRequest, type FakeRemoteConfigRequest } from './fake-remote-config.js';

/** The endpoints the fake serves. */
type Endpoint = 'flags' | 'definitions' | 'batch' | 'remote_config';

/**
 * A PostHog for an application's e2e tests: a real HTTP server on 127.0.0.1 (an ephemeral port) speaking the
 * parts of PostHog's API this module calls: `POST /flags/?v=2` (every flag of its table, `enabled: false` when
 * off, narrowed by `flag_keys_to_evaluate`), `GET /flags/definitions` (with a weak ETag and `304`), and
 * `POST /batch/` (gzipped or not), and `GET /api/projects/@current/feature_flags/{key}/remote_config`. Flags are set for everyone, per user, or by a rule; outages are switched on
 * and off; what it received is kept for the test to read. No timers; `close()` ends every connection at once.
 *
 * ```ts
 * const posthog = await FakePostHog.start();
 * posthog.setFlag('beta', true).setFlag('checkout', ({ distinctId }) => (distinctId === 'bob' ? 'test' : false));
 * FlagsModule.forRoot({ apiKey: posthog.apiKey, host: posthog.url });
 * await posthog.setOutage('down');
 * await posthog.close();
 * ```
 */
export class FakePostHog {
  /** A project API key (`phc_`) to give the module as `apiKey`; the fake accepts any key. */
  readonly apiKey = 'phc_fake_posthog_project_key';
  /** A secret key (`phs_`) to give the module as `secretKey` for local evaluation; the fake accepts any key. */
  readonly secretKey = 'phs_fake_posthog_secret_key';
  /** The `/flags` requests it received (hanging ones included), in order. */
  readonly requests: FakeFlagsRequest[] = [];
  /** The `/flags/definitions` requests it received, in order. */
  readonly definitionsRequests: FakeDefinitionsRequest[] = [];
  /** The `/batch/` requests it accepted (answered `200`), in order. */
  readonly batches: FakeBatch[] = [];
  /** The remote config requests it received (hanging ones included), in order. */
  readonly remoteConfigRequests: FakeRemoteConfigRequest[] = [];
  /**
   * What `GET /flags/definitions` serves: PostHog's body (`{ flags, group_type_mapping, cohorts }`), sent as JSON
   * (a string is sent as it is); `undefined`: `404`.
   */
  definitions?: unknown;
  private readonly table = new FakeFlagTable();
  private readonly remoteConfigs = new FakeRemoteConfigs();
  private server?: Server;
  private port = 0;
  private current?: FakeOutage;
  private retryAfterSeconds = 60;
  private closed = false;

  /** Use {@link FakePostHog.start}. */
  protected constructor() {}

  /** Starts a fake PostHog on an ephemeral port of 127.0.0.1, with no flags. */
  static async start(): Promise<FakePostHog> {
    const fake = new FakePostHog();
    await fake.listen();
    return fake;
  }

  /** The base URL to give the module as `host`. */
  get url(): string {
    return `${this.scheme}://127.0.0.1:${this.port}`;
  }

  /** The outage in force, if any. */
  get outage(): FakeOutage | undefined {
    return this.current;
  }

  /** Every event of every accepted `/batch/` request, in order. */
  get events(): FakeEvent[] {
    return this.batches.flatMap((batch) => batch.body.batch);
  }

  /** The exposure events received: the `$feature_flag_called` ones of {@link events}. */
  get exposures(): FakeEvent[] {
    return this.events.filter((event) => event.event === '$feature_flag_called');
  }

  /** The ETag `/flags/definitions` sends for what it serves now. */
  get definitionsEtag(): string {
    return weakEtag(this.definitionsText());
  }

  /**
   * Sets a flag of the project: `true`, `false`, a variant, `{ value, payload, reason, failed }`, or a rule (a
   * function of the request's {@link FakeFlagContext}, asked on every request). With `distinctId`, only for that
   * user, before the setting for everyone. Returns the fake, to chain calls.
   * @throws {TypeError} for a setting of none of those forms.
   */
  setFlag(key: string, setting: FakeFlagSetting, options: { distinctId?: string } = {}): this {
    this.table.set(key, setting, options.distinctId);
    return this;
  }

  /**
   * Sets what the remote config endpoint answers for `key` (`FlagsService.getRemoteConfigPayload`): `payload` is
   * the body's JSON value. PostHog sends a flag's payload as it stores it, a JSON string: pass
   * `JSON.stringify(value)` to answer as it does. `undefined` removes it (`404`). Returns the fake.
   */
  setRemoteConfig(key: string, payload: unknown): this {
    this.remoteConfigs.set(key, payload);
    return this;
  }

  /** Removes every flag from the project. Returns the fake. */
  clearFlags(): this {
    this.table.clear();
    return this;
  }

  /** Removes a flag from the project: answers no longer name it. Returns the fake. */
  deleteFlag(key: string): this {
    this.table.delete(key);
    return this;
  }

  /**
   * Makes the fake fail as {@link FakeOutage} says, for every endpoint, until called with `undefined`. `down`
   * stops listening (resolved once refused); back from `down`, it listens on the same port again.
   * @throws {TypeError} for an outage of none of the accepted forms.
   */
  async setOutage(outage: FakeOutage | undefined, options: FakeOutageOptions = {}): Promise<void> {
    checkOutage(outage, options);
    this.retryAfterSeconds = options.retryAfterSeconds ?? 60;
    const wasDown = this.current === 'down';
    this.current = outage;
    if (outage === 'down' && !wasDown) await this.stopListening();
    if (outage !== 'down' && wasDown && !this.closed) await this.listen();
  }

  /** Back to a fresh fake on the same port: no flags, no definitions, no outage, nothing received. */
  async reset(): Promise<void> {
    this.table.clear();
    this.remoteConfigs.clear();
    this.definitions = undefined;
    this.requests.length = 0;
    this.definitionsRequests.length = 0;
    this.batches.length = 0;
    this.remoteConfigRequests.length = 0;
    await this.setOutage(undefined);
  }

  /** Stops the server and ends every connection at once, hanging ones included. */
  async close(): Promise<void> {
    this.closed = true;
    await this.stopListening();
  }

  /** The URL scheme of {@link url}. */
  protected get scheme(): string {
    return 'http';
  }

  /** The server, made when first listening. */
  protected createServer(listener: RequestListener): Server {
    return createServer(listener);
  }

  /** Listens: on an ephemeral port the first time, on the same port afterwards. */
  protected listen(): Promise<void> {
    const server = (this.server ??= this.createServer((request, response) => this.handle(request, response)));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        this.port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  /** Stops listening and ends every open connection; new connections are refused. */
  protected async stopListening(): Promise<void> {
    const server = this.server;
    if (!server?.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** Answers a `/flags` request (already recorded): the outage, or the table's v2 answer. */
  protected serveFlags(response: ServerResponse, request: FakeFlagsRequest): void | Promise<void> {
    if (this.current !== undefined) this.writeOutage(response, 'flags', this.current);
    else writeJson(response, 200, this.flagsAnswer(request.body));
  }

  /** Answers a `/flags/definitions` request (already recorded): the outage, `304`, `200` or `404`. */
  protected serveDefinitions(request: IncomingMessage, response: ServerResponse): void {
    if (this.current !== undefined) return this.writeOutage(response, 'definitions', this.current);
    if (this.definitions === undefined) return writeJson(response, 404, { detail: 'no definitions set' });
    const etag = this.definitionsEtag;
    if (request.headers['if-none-match'] === etag) {
      response.writeHead(304, { ETag: etag }).end();
      return;
    }
    response.writeHead(200, { 'Content-Type': 'application/json', ETag: etag }).end(this.definitionsText());
  }

  /** Answers a `/batch/` request: the outage (a quota-limited PostHog still takes events), or recorded and `200`. */
  protected serveBatch(response: ServerResponse, batch: FakeBatch): void | Promise<void> {
    if (this.current !== undefined && this.current !== 'quota-limited') {
      return this.writeOutage(response, 'batch', this.current);
    }
    this.batches.push(batch);
    writeJson(response, 200, { status: 'Ok' });
  }

  /** Answers a remote config request (already recorded): the outage, or the payload set for its key. */
  protected serveRemoteConfig(response: ServerResponse, request: FakeRemoteConfigRequest): void {
    if (this.current !== undefined) return this.writeOutage(response, 'remote_config', this.current);
    const { status, body } = this.remoteConfigs.answer(request.key, request.headers);
    writeJson(response, status, body);
  }

  /** Answers a path the fake does not serve: `404`. */
  protected serveOther(response: ServerResponse): void {
    writeJson(response, 404, {
      detail: 'FakePostHog serves /flags, /flags/definitions, /batch/ and remote_config only',
    });
  }

  /** The v2 answer to a `/flags` request's body, from the table. */
  protected flagsAnswer(body: FakeFlagsRequestBody): Record<string, unknown> {
    return { ...this.table.answer(body), requestId: 'fake-request' };
  }

  /** Writes what an outage answers on an endpoint (nothing while hanging). */
  protected writeOutage(response: ServerResponse, endpoint: Endpoint, outage: FakeOutage): void {
    if (outage === 'hanging' || outage === 'down') return;
    if (outage === 'quota-limited') {
      if (endpoint === 'definitions' || endpoint === 'remote_config')
        return writeJson(response, 402, { type: 'quota_limited', detail: 'over quota' });
      return writeJson(response, 200, { flags: {}, quotaLimited: ['feature_flags'], errorsWhileComputingFlags: false });
    }
    const retry: Record<string, string> =
      outage === 429 || outage === 503 ? { 'Retry-After': String(this.retryAfterSeconds) } : {};
    const type = outage === 402 ? 'quota_limited' : 'fake_outage';
    writeJson(response, outage, { type, detail: `FakePostHog answers ${outage}` }, retry);
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    this.route(request, response).catch((error: unknown) => {
      if (response.headersSent) response.destroy();
      else if (error instanceof BadRequestBody) writeJson(response, error.status, { detail: error.message });
      else writeJson(response, 500, { detail: error instanceof Error ? error.message : String(error) });
    });
  }

  private async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const text = await readRequestText(request);
    const url = request.url ?? '/';
    const path = url.split('?')[0]!.replace(/\/+$/, '');
    if (path === '/flags/definitions') {
      this.definitionsRequests.push({ url, headers: request.headers });
      return this.serveDefinitions(request, response);
    }
    if (path === '/flags') {
      const body = parseJsonObject(text) as FakeFlagsRequestBody;
      const recorded = { url, headers: request.headers, distinctId: String(body.distinct_id ?? ''), body };
      this.requests.push(recorded);
      return this.serveFlags(response, recorded);
    }
    if (path === '/batch') return this.serveBatch(response, { headers: request.headers, body: batchBody(text) });
    const remoteConfig = remoteConfigRequest(path, url, request.headers);
    if (remoteConfig) {
      this.remoteConfigRequests.push(remoteConfig);
      return this.serveRemoteConfig(response, remoteConfig);
    }
    this.serveOther(response);
  }

  private definitionsText(): string {
    return typeof this.definitions === 'string' ? this.definitions : (JSON.stringify(this.definitions) ?? '');
  }
}

function writeJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  response.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
}
