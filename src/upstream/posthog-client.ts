import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { FLAGS_CONFIG, USER_AGENT } from '../flags.constants.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';
import type { FlagContext } from '../flags.types.js';
import { abortable, type AbortableRequest } from './abortable-request.js';
import { flagsRequestBody } from './flags-request-body.js';
import { PostHogHttp } from './posthog-http.js';
import type { PostHogResponse } from './posthog-request.js';
import { UpstreamError } from '../pipeline/upstream-error.js';
import { statusError } from './transport-error.js';

/**
 * Speaks PostHog's `/flags` API: one HTTP attempt per subscription, bounded by `timeoutMs` (its body included),
 * aborted on unsubscribe, on at most `maxConcurrentRequests` keep-alive connections.
 */
@Injectable()
export class PostHogClient implements OnApplicationShutdown {
  private readonly http: PostHogHttp;

  constructor(@Inject(FLAGS_CONFIG) private readonly config: ResolvedFlagsOptions) {
    this.http = new PostHogHttp(config.host, config.maxConcurrentRequests, '/flags');
  }

  /**
   * One attempt: emits the parsed JSON body of a 2xx answer and completes, or errors with an
   * {@link UpstreamError} (transport failure, `timeout` past `timeoutMs`, non-2xx status, a body that is not JSON).
   * `disableGeoip` defaults to the module's.
   */
  requestFlags(
    context: FlagContext,
    keys?: readonly string[],
    disableGeoip = this.config.disableGeoip,
  ): Observable<unknown> {
    const { apiKey, evaluationContexts } = this.config;
    const body = flagsRequestBody(apiKey, context, { keys, disableGeoip, evaluationContexts });
    return abortable(() => this.post(body), readFlagsAnswer);
  }

  /** Closes the connections (every call was ended when the application began to shut down). */
  async onApplicationShutdown(): Promise<void> {
    await this.http.close();
  }

  /**
   * Starts one POST. Redirects are never followed (a 3xx fails as `http_3xx`: the API key and properties go to the
   * host configured, nowhere else). The body is read only up to `maxResponseBytes` decoded bytes.
   */
  private post(body: string): AbortableRequest<PostHogResponse> {
    return this.http.start({
      method: 'POST',
      path: FLAGS_PATH,
      headers: JSON_HEADERS,
      body,
      timeoutMs: this.config.timeoutMs,
      readBodyOf: isSuccess,
      maxResponseBytes: this.config.maxResponseBytes,
    });
  }
}

/** The parsed JSON body of a 2xx answer; any other status, or a body that is not JSON, is an {@link UpstreamError}. */
function readFlagsAnswer(response: PostHogResponse): unknown {
  if (!isSuccess(response.status)) throw statusError(response.status);
  try {
    return JSON.parse(response.text!);
  } catch {
    throw new UpstreamError('bad_response', 'the body is not JSON');
  }
}

/** The path of `/flags`, version 2 of its answer. */
const FLAGS_PATH = '/flags/?v=2';

/** The headers of every `/flags` request. */
const JSON_HEADERS: Readonly<Record<string, string>> = { 'content-type': 'application/json', 'user-agent': USER_AGENT };

/** Whether `status` is a 2xx. */
export function isSuccess(status: number): boolean {
  return status >= 200 && status <= 299;
}
