import type { FakeFlagAnswer, FakeFlagContext, FakeFlagSetting, FakeFlagsRequestBody } from './fake-posthog.types.js';

/** A flag of the table: its setting for everyone, and the settings of single users, which come first. */
interface TableEntry {
  everyone?: FakeFlagSetting;
  readonly users: Map<string, FakeFlagSetting>;
}

/** The `flags` object of a v2 `/flags` answer, and whether some flag failed. */
export interface FlagsAnswer {
  flags: Record<string, unknown>;
  errorsWhileComputingFlags: boolean;
}

/**
 * The fake's project: flag keys to settings. Every flag it holds is in every answer (off: `enabled: false`), as
 * PostHog answers with every flag of the project; `flag_keys_to_evaluate` narrows the answer to those keys.
 * @internal
 */
export class FakeFlagTable {
  private readonly entries = new Map<string, TableEntry>();

  /** Sets a flag for everyone, or for one distinct id (which then takes it before the setting for everyone). */
  set(key: string, setting: FakeFlagSetting, distinctId?: string): void {
    if (typeof key !== 'string' || key === '')
      throw new TypeError('FakePostHog: a flag key must be a non-empty string');
    checkSetting(key, setting);
    const entry = this.entries.get(key) ?? { users: new Map<string, FakeFlagSetting>() };
    if (distinctId === undefined) entry.everyone = setting;
    else entry.users.set(distinctId, setting);
    this.entries.set(key, entry);
  }

  /** Removes a flag from the project (for everyone and every user). */
  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Removes every flag. */
  clear(): void {
    this.entries.clear();
  }

  /** The v2 `flags` for a request's body. @throws {Error} naming the flag when its rule throws. */
  answer(body: FakeFlagsRequestBody): FlagsAnswer {
    const context = contextOf(body);
    const only = Array.isArray(body.flag_keys_to_evaluate) ? new Set(body.flag_keys_to_evaluate) : undefined;
    const flags = Object.create(null) as Record<string, unknown>;
    let errorsWhileComputingFlags = false;
    for (const [key, entry] of this.entries) {
      if (only && !only.has(key)) continue;
      const answer = answerOf(key, entry.users.get(context.distinctId) ?? entry.everyone, context);
      errorsWhileComputingFlags ||= answer.failed === true;
      flags[key] = wireFlag(key, answer);
    }
    return { flags, errorsWhileComputingFlags };
  }
}

/** A setting as an answer for this context; no setting (the flag is only set for other users) is off. */
function answerOf(key: string, setting: FakeFlagSetting | undefined, context: FakeFlagContext): FakeFlagAnswer {
  let value = setting;
  if (typeof value === 'function') {
    try {
      value = value(context);
    } catch (error) {
      throw new Error(`FakePostHog: the rule of flag "${key}" threw: ${String(error)}`, { cause: error });
    }
    checkSetting(key, value);
  }
  if (value === undefined) return { value: false };
  return typeof value === 'object' ? (value as FakeFlagAnswer) : { value: value as boolean | string };
}

/** A flag as PostHog's v2 answer holds it. */
function wireFlag(key: string, answer: FakeFlagAnswer): Record<string, unknown> {
  if (answer.failed) return { key, enabled: false, failed: true, reason: { code: 'error', description: 'Failed' } };
  const enabled = answer.value !== false;
  const variant = typeof answer.value === 'string' ? { variant: answer.value } : {};
  const payload = enabled && answer.payload !== undefined ? { payload: JSON.stringify(answer.payload) } : {};
  return {
    key,
    enabled,
    ...variant,
    reason: enabled
      ? { code: answer.reason ?? 'condition_match', condition_index: 0, description: 'Condition set 1 matched' }
      : { code: answer.reason ?? 'no_condition_match', condition_index: 0, description: 'No condition sets matched' },
    metadata: { id: 1, version: 1, ...payload },
  };
}

/** What a rule sees of a request's body (objects that are not objects read as empty). */
function contextOf(body: FakeFlagsRequestBody): FakeFlagContext {
  const record = (value: unknown) => (value && typeof value === 'object' ? (value as Record<string, unknown>) : {});
  return {
    distinctId: typeof body.distinct_id === 'string' ? body.distinct_id : '',
    groups: record(body.groups),
    personProperties: record(body.person_properties),
    groupProperties: record(body.group_properties),
  };
}

/** @throws {TypeError} for a setting that is none of the accepted forms. */
function checkSetting(key: string, setting: unknown): void {
  if (setting === undefined || typeof setting === 'function') return;
  if (typeof setting === 'boolean' || (typeof setting === 'string' && setting !== '')) return;
  if (setting && typeof setting === 'object' && Object.hasOwn(setting, 'value')) {
    const { value } = setting as { value: unknown };
    if (typeof value === 'boolean' || (typeof value === 'string' && value !== '')) return;
  }
  throw new TypeError(
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the message lists the kinds
    `FakePostHog: flag "${key}" takes true, false, a variant, { value, payload? } or a rule, got ${String(setting)}`,
  );
}
