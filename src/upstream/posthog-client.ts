import { Inject, Injectable } from '@nestjs/common';
import { Observable } from 'rxjs';
import { FLAGS_CONFIG, LIBRARY_NAME, LIBRARY_VERSION } from '../flags.constants.js';
import type { ResolvedFlagsOptions } from '../flags.options.js';
import type { FlagContext } from '../flags.types.js';
import { transportError, UpstreamError } from './upstream-error.js';

/** The `User-Agent` sent to PostHog. */
export const USER_AGENT = `${LIBRARY_NAME}/${LIBRARY_VERSION}`;

/** The JSON body of `POST /flags/?v=2` for a context and, optionally, the only keys to evaluate. */
export function flagsRequestBody(apiKey: string, context: FlagContext, keys?: readonly string[]): string {
  return JSON.stringify({
    token: apiKey,
    distinct_id: context.distinctId,
    groups: context.groups ?? {},
    person_properties: context.personProperties ?? {},
    group_properties: context.groupProperties ?? {},
    geoip_disable: true,
    ...(keys ? { flag_keys_to_evaluate: keys } : {}),
  });
}

/** Speaks PostHog's `/flags` API: one HTTP attempt per subscription, aborted on unsubscribe. */
@Injectable()
export class PostHogClient {
  private readonly url: string;

  constructor(@Inject(FLAGS_CONFIG) private readonly config: ResolvedFlagsOptions) {
    this.url = `${config.host}/flags/?v=2`;
  }

  /**
   * One attempt: emits the parsed JSON body of a 2xx answer and completes, or errors with an
   * {@link UpstreamError} (transport failure, non-2xx status, a body that is not JSON).
   */
  requestFlags(context: FlagContext, keys?: readonly string[]): Observable<unknown> {
    return new Observable<unknown>((subscriber) => {
      const abort = new AbortController();
      let inFlight = true;
      this.post(flagsRequestBody(this.config.apiKey, context, keys), abort.signal).then(
        (body) => {
          inFlight = false;
          subscriber.next(body);
          subscriber.complete();
        },
        (error: unknown) => {
          inFlight = false;
          subscriber.error(error);
        },
      );
      // Aborting a finished request would only build an AbortError (and its stack) for no one.
      return () => {
        if (inFlight) abort.abort();
      };
    });
  }

  private async post(body: string, signal: AbortSignal): Promise<unknown> {
    let text: string;
    let status: number;
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'User-Agent': USER_AGENT },
        body,
        signal,
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      throw transportError(error);
    }
    if (status < 200 || status > 299) throw new UpstreamError(`http_${status}`, `HTTP ${status}`);
    try {
      return JSON.parse(text);
    } catch {
      throw new UpstreamError('bad_response', 'the body is not JSON');
    }
  }
}
