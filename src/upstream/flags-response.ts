import type { EvaluatedFlag } from '../flags.types.js';
import { isRecord } from '../util/is-record.js';
import { UpstreamError } from '../pipeline/upstream-error.js';
import { deepFreeze } from '../util/deep-freeze.js';

/** What one successful `/flags` answer established. */
export interface ParsedFlags {
  /** The flags PostHog evaluated, by key (a `Map`, so keys such as `__proto__` are only keys). */
  flags: Map<string, EvaluatedFlag>;
  /**
   * Keys PostHog could not evaluate this time (`failed: true`, or an entry of the wrong shape): not results,
   * answered from the fallback instead.
   */
  failed: Set<string>;
  /** `errorsWhileComputingFlags`: a flag missing from `flags` may exist but have failed. */
  incomplete: boolean;
  /** PostHog's id of this request (`requestId`), when it said one. */
  requestId?: string;
  /** `minimalFlagCalledEvents`: PostHog asks for lean exposures of flags without an experiment. */
  minimalFlagCalledEvents: boolean;
}

/** Whether PostHog answered for certain: no flag failed, and no error while computing flags. */
export function isCompleteAnswer(parsed: ParsedFlags): boolean {
  return !parsed.incomplete && parsed.failed.size === 0;
}

/** Flag keys PostHog can produce: letters, digits, `-` and `_`. */
const FLAG_KEY = /^[A-Za-z0-9_-]+$/;

/** What a reason code PostHog sends looks like (`condition_match`); anything else is dropped. */
const REASON_CODE = /^[a-z_]{1,64}$/;

/**
 * Validates a `/flags` body, v2 (`flags`) or v1 (`featureFlags`), into {@link ParsedFlags}.
 * @throws {UpstreamError} `quota_limited` for a quota-limited answer, `bad_response` for any other shape.
 */
export function parseFlagsResponse(body: unknown, evaluatedAt = new Date()): ParsedFlags {
  if (!isRecord(body)) throw badResponse('the body is not a JSON object');
  if (Array.isArray(body.quotaLimited) && body.quotaLimited.includes('feature_flags')) {
    throw new UpstreamError('quota_limited', 'the project is over its feature-flag quota');
  }
  const parsed: ParsedFlags = {
    flags: new Map(),
    failed: new Set(),
    incomplete: body.errorsWhileComputingFlags === true,
    minimalFlagCalledEvents: body.minimalFlagCalledEvents === true,
  };
  if (typeof body.requestId === 'string') parsed.requestId = body.requestId;
  if (isRecord(body.flags)) {
    for (const [key, entry] of Object.entries(body.flags)) addFlag(parsed, key, readV2Flag(key, entry, evaluatedAt));
  } else if (isRecord(body.featureFlags)) {
    const payloads = isRecord(body.featureFlagPayloads) ? body.featureFlagPayloads : {};
    for (const [key, value] of Object.entries(body.featureFlags)) {
      const payload = Object.hasOwn(payloads, key) ? payloads[key] : undefined;
      addFlag(parsed, key, readV1Flag(key, value, payload, evaluatedAt));
    }
  } else {
    throw badResponse('neither "flags" (v2) nor "featureFlags" (v1) is an object');
  }
  return parsed;
}

/** Files one entry under its key: a result, or a failure; keys PostHog cannot produce are dropped. */
function addFlag(parsed: ParsedFlags, key: string, flag: EvaluatedFlag | undefined): void {
  if (!FLAG_KEY.test(key)) return;
  if (flag) parsed.flags.set(key, flag);
  else parsed.failed.add(key);
}

/** A v2 entry, or undefined when it failed on the server or is not of the documented shape. */
function readV2Flag(key: string, entry: unknown, evaluatedAt: Date): EvaluatedFlag | undefined {
  if (!isRecord(entry) || entry.failed === true || typeof entry.enabled !== 'boolean') return undefined;
  const metadata = isRecord(entry.metadata) ? entry.metadata : {};
  const reason = isRecord(entry.reason) ? entry.reason.description : undefined;
  const reasonCode = isRecord(entry.reason) ? entry.reason.code : undefined;
  return compact({
    key,
    enabled: entry.enabled,
    variant: typeof entry.variant === 'string' ? entry.variant : undefined,
    payload: parsePayload(metadata.payload),
    reason: typeof reason === 'string' ? reason : undefined,
    reasonCode: typeof reasonCode === 'string' && REASON_CODE.test(reasonCode) ? reasonCode : undefined,
    id: integerOrUndefined(metadata.id),
    version: integerOrUndefined(metadata.version),
    hasExperiment: typeof metadata.has_experiment === 'boolean' ? metadata.has_experiment : undefined,
    evaluatedAt,
  });
}

/** A v1 entry (`true`, `false` or a variant name), or undefined when it is none of those. */
function readV1Flag(key: string, value: unknown, payload: unknown, evaluatedAt: Date): EvaluatedFlag | undefined {
  if (typeof value !== 'boolean' && typeof value !== 'string') return undefined;
  return compact({
    key,
    enabled: value !== false,
    variant: typeof value === 'string' ? value : undefined,
    payload: parsePayload(payload),
    evaluatedAt,
  });
}

/**
 * PostHog sends payloads as JSON strings: parse once; a string that is not JSON is the payload itself. Deeply
 * frozen: the cache hands the same payload to every later answer.
 */
function parsePayload(payload: unknown): unknown {
  if (typeof payload !== 'string') return deepFreeze(payload ?? undefined);
  try {
    return deepFreeze(JSON.parse(payload) as unknown);
  } catch {
    return payload;
  }
}

/** The flag without its undefined optional fields, so results compare and print cleanly. */
function compact(flag: EvaluatedFlag): EvaluatedFlag {
  for (const field of ['variant', 'payload', 'reason', 'reasonCode', 'id', 'version', 'hasExperiment'] as const) {
    if (flag[field] === undefined) delete flag[field];
  }
  return flag;
}

function integerOrUndefined(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
}

function badResponse(detail: string): UpstreamError {
  return new UpstreamError('bad_response', detail);
}
