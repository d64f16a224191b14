import { Pool } from 'undici';
import type { AbortableRequest } from './abortable-request.js';
import { PostHogExchange } from './posthog-exchange.js';
import type { PostHogRequest, PostHogResponse } from './posthog-request.js';

/**
 * The HTTP client for one PostHog endpoint: undici's `Pool` (the client Node's `fetch` is built on, without the
 * WHATWG layers that make `fetch` cost four times as much CPU per call), driven through `dispatch` by a handler of
 * our own ({@link PostHogExchange}: no response stream, no `AbortSignal`), on keep-alive connections to the
 * configured host, at most `connections` of them. Redirects are never followed (a 3xx is an answer like any other),
 * bodies are decoded (gzip, deflate, br) and bounded, and errors are {@link UpstreamError}s naming the endpoint,
 * never the URL, its query or a header (where the keys travel).
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
   * Starts one exchange. Its `response` resolves with the answer, whatever its status, once its body has ended or
   * its connection is closed (see {@link PostHogExchange}); it rejects with an {@link UpstreamError} on a transport
   * failure, the timeout (`timeout`), a body past `maxResponseBytes` (`too_large`), a corrupt encoding
   * (`bad_response`), or an abort (the caller's signal, or `abort()`, which does nothing once `response` has
   * settled) before the status is in.
   */
  start(request: PostHogRequest): AbortableRequest<PostHogResponse> {
    const exchange = new PostHogExchange(request, this.endpoint);
    if (!exchange.ended) {
      const { method, path, headers, body } = request;
      this.pool.dispatch({ method, path: this.basePath + path, headers, body }, exchange);
    }
    return exchange;
  }

  /** One exchange that only the caller's signal aborts: {@link start}'s `response`. */
  request(request: PostHogRequest): Promise<PostHogResponse> {
    return this.start(request).response;
  }

  /** Closes every connection, ending what is still in flight. */
  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
