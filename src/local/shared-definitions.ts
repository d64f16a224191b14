import { createHash } from 'node:crypto';
import { isRecord } from '../util/is-record.js';
import { jsonText } from '../util/json-text.js';
import { DefinitionsFormatError, parseDefinitions, type FlagDefinitionsData } from './definitions.js';

/**
 * Whose definitions these are and when PostHog was polled for them: the fields this library adds to the shared
 * value beside PostHog's provider fields (`flags`, `group_type_mapping`, `cohorts`), which posthog-python's reader
 * ignores, and the fields of the small `{key}:meta` sidecar.
 */
export interface SharedStamp {
  /** {@link projectFingerprint} of the project the definitions belong to. */
  fingerprint: string;
  /** When PostHog was polled for them (ms since the epoch). */
  polledAt: number;
  /** PostHog's ETag of them, when it sent one. */
  etag?: string;
}

/** Definitions as read from the shared key, with the stamp of their publisher (none when another SDK wrote them). */
export interface SharedDefinitions {
  readonly data: FlagDefinitionsData;
  readonly stamp?: SharedStamp;
}

/**
 * The sidecar `{key}:meta`, rewritten by the poller at every poll: the stamp of the last poll (a `304` moves
 * `polledAt`), and which value the key holds (`publishedAt`: the `polled_at` written in it; `bytes`: its length),
 * so that followers read the big value only when it changed.
 */
export interface SharedMeta extends SharedStamp {
  publishedAt: number;
  bytes: number;
}

/**
 * A short fingerprint of the project API key (SHA-256, 16 hex digits): tells one project's definitions from
 * another's without the key ever being written.
 */
export function projectFingerprint(apiKey: string): string {
  return createHash('sha256').update(`posthog-project:${apiKey}`).digest('hex').slice(0, 16);
}

/**
 * The shared value: PostHog's provider fields, then `project_fingerprint`, `polled_at` (ISO 8601) and `etag`.
 * Serialised without recursion (a deep cohort cannot overflow the stack).
 * @throws {import('../util/json-text.js').JsonTooLargeError} past `maxLength`.
 */
export function encodeSharedValue(data: FlagDefinitionsData, stamp: SharedStamp, maxLength?: number): string {
  const { flags, group_type_mapping, cohorts, property_matching_version } = data;
  return jsonText(
    {
      flags,
      group_type_mapping,
      cohorts,
      property_matching_version,
      project_fingerprint: stamp.fingerprint,
      polled_at: new Date(stamp.polledAt).toISOString(),
      etag: stamp.etag ?? null,
    },
    maxLength,
  );
}

/**
 * The definitions of a shared value, with its stamp when it has a whole one (a value posthog-python's provider
 * wrote has none).
 * @throws {DefinitionsFormatError} when it is no JSON, or no definitions.
 */
export function decodeSharedValue(text: string): SharedDefinitions {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new DefinitionsFormatError(`not JSON (${(error as Error).message})`);
  }
  const data = parseDefinitions(body);
  const stamp = isRecord(body) ? stampOf(body.project_fingerprint, body.polled_at, body.etag) : undefined;
  return stamp ? { data, stamp } : { data };
}

/** The sidecar's text. */
export function encodeMeta(meta: SharedMeta): string {
  return JSON.stringify({
    project_fingerprint: meta.fingerprint,
    polled_at: new Date(meta.polledAt).toISOString(),
    etag: meta.etag ?? null,
    published_at: new Date(meta.publishedAt).toISOString(),
    bytes: meta.bytes,
  });
}

/** The longest sidecar (bytes): a longer one is garbage, and no more of it than this (and a byte) is read. */
export const META_MAX_BYTES = 4096;

/** The sidecar read back; `undefined` when absent or not one (garbage, or over {@link META_MAX_BYTES}, counts as absent). */
export function decodeMeta(text: string | null): SharedMeta | undefined {
  if (text === null || text === '' || Buffer.byteLength(text) > META_MAX_BYTES) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(body)) return undefined;
  const stamp = stampOf(body.project_fingerprint, body.polled_at, body.etag);
  const publishedAt = typeof body.published_at === 'string' ? Date.parse(body.published_at) : NaN;
  if (!stamp || !Number.isFinite(publishedAt) || !Number.isSafeInteger(body.bytes)) return undefined;
  return { ...stamp, publishedAt, bytes: body.bytes as number };
}

function stampOf(fingerprint: unknown, polledAt: unknown, etag: unknown): SharedStamp | undefined {
  if (typeof fingerprint !== 'string' || typeof polledAt !== 'string') return undefined;
  const at = Date.parse(polledAt);
  if (!Number.isFinite(at)) return undefined;
  return { fingerprint, polledAt: at, ...(typeof etag === 'string' ? { etag } : {}) };
}
