/** One request to PostHog. */
export interface PostHogRequest {
  method: 'GET' | 'POST';
  /** The path under the configured host, query included (`/flags/?v=2`). */
  path: string;
  headers: Readonly<Record<string, string>>;
  body?: string | Buffer;
  /**
   * Aborts the request (and the reading of its body), as `abort()` does: a long-lived signal such as a shutdown's,
   * listened to for this exchange only.
   */
  signal?: AbortSignal;
  /**
   * A deadline for the whole exchange, body included (read or drained), kept by a timer of this client's, cleared
   * when it ends. A request unanswered by then fails with `timeout`; an answer whose unwanted body has not ended by
   * then is the answer, and its connection is closed.
   */
  timeoutMs: number;
  /** The statuses whose body is read; any other answer's body is drained unread (see {@link timeoutMs}). */
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
