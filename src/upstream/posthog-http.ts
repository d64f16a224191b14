import { Pool } from 'undici';
import { Deadline } from './deadline.js';
import { readDecodedText } from './decoded-body.js';
import { transportError, UpstreamError } from './upstream-error.js';

/** One request to PostHog. */
export interface PostHogRequest {
  method: 'GET' | 'POST';
  /** The path under the configured host, query included (`/flags/?v=2`). */
  path: string;
  headers: Readonly<Record<string, string>>;
  body?: string | Buffer;
  /** Aborts the request (and the reading of its body): an unsubscribe, a shutdown. */
  signal?: AbortSignal;
  /** A deadline for the whole exchange, body included, kept by a timer of this client's, cleared when it ends. */
  timeoutMs?: number;
  /** The statuses whose body is read; any other answer's body is discarded unread. */
  readBodyOf: (status: number) => boolean;
  /** The largest body read, in decoded bytes; past it the request fails with `too_large`. */
  maxResponseBytes: number;
}

/** What PostHog answered: the status, the headers, and the body when it was read. */
export interface PostHogResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string | string[] | undefined>;
  /** The decoded body, for a status `readBodyOf` accepted. */
  text?: string;
}

/** The most bytes of an unwanted body drained to keep its connection; a longer one closes the connection. */
const DISCARDED_BODY_LIMIT = 64 * 1024;

/**
 * The HTTP client for one PostHog endpoint: undici's `Pool` (the client Node's `fetch` is built on, without the
 * WHATWG layers that make `fetch` cost four times as much CPU per call) on keep-alive connections to the configured
 * host, at most `connections` of them. Redirects are never followed (a 3xx is an answer like any other), bodies are
 * decoded (gzip, deflate, br) and bounded, and errors are {@link UpstreamError}s naming the endpoint, never the
 * URL, its query or a header (where the keys travel).
 */
export class PostHogHttp {
  private readonly pool: Pool;
  private readonly basePath: string;

  constructor(
    host: string,
    connections: number,
    /** The endpoint, in error messages (`/flags`, `/batch`). */
    private readonly endpoint: string,
  ) {
    const url = new URL(host);
    this.pool = new Pool(url.origin, { connections });
    this.basePath = url.pathname.replace(/\/+$/, '');
  }

  /**
   * One exchange. Resolves with the answer, whatever its status; rejects with an {@link UpstreamError} on a
   * transport failure, the timeout (`timeout`), a body past `maxResponseBytes` (`too_large`) or an abort.
   */
  async request(request: PostHogRequest): Promise<PostHogResponse> {
    const deadline = request.timeoutMs === undefined ? undefined : new Deadline(request.timeoutMs, request.signal);
    const signal = deadline?.signal ?? request.signal;
    try {
      const response = await this.pool.request({
        method: request.method,
        path: this.basePath + request.path,
        headers: request.headers,
        body: request.body,
        signal,
      });
      const answer: PostHogResponse = { status: response.statusCode, headers: response.headers };
      if (!request.readBodyOf(answer.status)) {
        discard(response.body);
        return answer;
      }
      answer.text = await readDecodedText(response.body, response.headers['content-encoding'], {
        maxBytes: request.maxResponseBytes,
        endpoint: this.endpoint,
      });
      return answer;
    } catch (error) {
      if (deadline?.expired)
        throw new UpstreamError('timeout', `no answer within ${request.timeoutMs} ms`, this.endpoint);
      throw error instanceof UpstreamError ? error : transportError(error, this.endpoint);
    } finally {
      deadline?.clear();
    }
  }

  /** Closes every connection, ending what is still in flight. */
  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

/**
 * Drains a short unwanted body so that its connection is kept; under a longer one (or one of unknown length past
 * the limit) the connection is closed.
 */
function discard(body: { dump(options: { limit: number }): Promise<unknown> }): void {
  body.dump({ limit: DISCARDED_BODY_LIMIT }).catch(() => {});
}
