import type { FlagContext } from './flags.types.js';

/** The context as a {@link FlagContext} (a string is a distinct id), or `undefined` without a non-empty distinct id. */
export function asFlagContext(context: FlagContext | string | undefined): FlagContext | undefined {
  const subject = typeof context === 'string' ? { distinctId: context } : context;
  return typeof subject?.distinctId === 'string' && subject.distinctId !== '' ? subject : undefined;
}

/**
 * The context as a {@link FlagContext}; a string is a distinct id.
 * @throws {TypeError} when the distinct id is not a non-empty string.
 */
export function toFlagContext(context: FlagContext | string): FlagContext {
  const subject = asFlagContext(context);
  if (!subject) {
    throw new TypeError('FlagsService: context.distinctId (or a string context) must be a non-empty string');
  }
  return subject;
}

/** A string equal for two contexts exactly when PostHog would evaluate them alike (same user, groups, properties). */
export function contextKey(context: FlagContext): string {
  const { groups, personProperties, groupProperties } = context;
  if (!groups && !personProperties && !groupProperties) return JSON.stringify(context.distinctId);
  return JSON.stringify([
    context.distinctId,
    sortedEntries(context.groups),
    sortedEntries(context.personProperties),
    sortedEntries(context.groupProperties),
  ]);
}

function sortedEntries(record: Record<string, unknown> | undefined): [string, unknown][] {
  return Object.entries(record ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
