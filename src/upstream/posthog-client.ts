import { Inject, Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { FLAGS_CONFIG, LIBRARY_NAME, LIBRARY_VERSION } from '../flags.constants.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';
import type { FlagContext } from '../flags.types.js';
import { abortable } from './abortable-request.js';
import { transportError, UpstreamError } from './upstream-error.js';

/** The `User-Agent` sent to PostHog. */
export const USER_AGENT = `${LIBRARY_NAME}/${LIBRARY_VERSION}`;

/** The JSON body of `POST /flags/?v=2` for a context and, optionally, the only keys to evaluate. */
export function flagsRequestBody(apiKey: string, context: FlagContext, keys?: readonly string[]): string {
  return JSON.stringify({
    token: apiKey,
    distinct_id: context.distinctId,
    groups: context.groups ?? {},
    person_properties: context.deviceId
      ? { $device_id: context.deviceId, ...context.personProperties }
      : (context.personProperties ?? {}),
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
    return abortable((signal) => this.post(flagsRequestBody(this.config.apiKey, context, keys), signal));
  }

  /**
   * One POST. Redirects are never followed (a 3xx fails as `http_3xx`: the API key and properties go to the host
   * configured, nowhere else). The body is read only up to `maxResponseBytes` decoded bytes.
   */
  private async post(body: string, signal: AbortSignal): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'User-Agent': USER_AGENT },
        body,
        signal,
        redirect: 'manual',
      });
    } catch (error) {
      throw transportError(error);
    }
    if (response.status < 200 || response.status > 299) {
      response.body?.cancel().catch(() => {});
      throw new UpstreamError(`http_${response.status}`, `HTTP ${response.status}`);
    }
    const text = await readText(response, this.config.maxResponseBytes);
    try {
      return JSON.parse(text);
    } catch {
      throw new UpstreamError('bad_response', 'the body is not JSON');
    }
  }
}

/**
 * The body as text, decoded (after gzip or brotli), failing with `too_large` as soon as it passes `maxBytes`: a
 * huge body or a compression bomb costs at most that much memory. Errors name `endpoint`.
 */
export async function readText(response: Response, maxBytes: number, endpoint?: string): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      size += read.value.byteLength;
      if (size > maxBytes) {
        reader.cancel().catch(() => {});
        throw new UpstreamError('too_large', `the body is larger than ${maxBytes} bytes`, endpoint);
      }
      chunks.push(read.value);
    }
  } catch (error) {
    throw error instanceof UpstreamError ? error : transportError(error, endpoint);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}
