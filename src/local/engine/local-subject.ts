import type { FlagContext } from '../../flags.types.js';
import { ownValue, setOwn } from '../../util/own.js';

/** Whom a flag is evaluated for, with the properties PostHog's SDKs add for local evaluation. */
export interface LocalSubject {
  distinctId: string;
  groups: Readonly<Record<string, string>>;
  /** The person properties, with `distinct_id` (and `$device_id` from the context's `deviceId`). */
  personProperties: Readonly<Record<string, unknown>>;
  /** Each group's properties, with `$group_key`; only groups the context names. */
  groupProperties: Readonly<Record<string, Record<string, unknown>>>;
}

/** The context as posthog-node evaluates it locally: `distinct_id` among the person properties, `$group_key` in each group's. */
export function localSubject(context: FlagContext): LocalSubject {
  const groups = context.groups ?? {};
  // Names from the caller become own properties, whatever they are (`__proto__` too), and only own ones are read.
  const groupProperties: Record<string, Record<string, unknown>> = {};
  for (const [type, key] of Object.entries(groups)) {
    const given = ownValue(context.groupProperties, type) as Record<string, unknown> | undefined;
    setOwn(groupProperties, type, { $group_key: key, ...given });
  }
  // A spread defines each property as its own (a `__proto__` too), the context's over those added.
  const personProperties: Record<string, unknown> =
    context.deviceId === undefined
      ? { distinct_id: context.distinctId, ...context.personProperties }
      : { distinct_id: context.distinctId, $device_id: context.deviceId, ...context.personProperties };
  return { distinctId: context.distinctId, groups, personProperties, groupProperties };
}
