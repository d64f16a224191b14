import type { FlagValue } from '../../flags.types.js';
import type { FlagCondition, FlagDefinition } from '../definitions.js';
import { flagHash } from './flag-hash.js';

/**
 * Whether the user's hash falls outside the rollout percentage (`null`: everyone is in). The hash is below 1, so
 * a rollout of 100 % or more needs none.
 */
export function isRolledOut(key: string, bucketingValue: string, rollout: number | null | undefined): boolean {
  return rollout != null && rollout < 100 && flagHash(key, bucketingValue) > rollout / 100;
}

/** The value of a matched condition: its own variant when the flag has it, else the user's variant, else `true`. */
export function conditionValue(flag: FlagDefinition, condition: FlagCondition, bucketingValue: string): FlagValue {
  const variants = flag.filters?.multivariate?.variants ?? [];
  const forced = condition.variant;
  if (forced && variants.some((variant) => variant.key === forced)) return forced;
  return variantOf(flag.key, bucketingValue, variants) || true;
}

/** The variant whose cumulative range `[min, max)` holds the user's variant hash; `undefined` past the last. */
export function variantOf(
  key: string,
  bucketingValue: string,
  variants: readonly { key: string; rollout_percentage: number }[],
): string | undefined {
  if (variants.length === 0) return undefined;
  const hash = flagHash(key, bucketingValue, 'variant');
  let min = 0;
  for (const variant of variants) {
    const max = min + variant.rollout_percentage / 100;
    if (hash >= min && hash < max) return variant.key;
    min = max;
  }
  return undefined;
}

/** `holdout-{id}` when the user falls in the flag's holdout group. */
export function holdoutVariant(
  holdout: NonNullable<FlagDefinition['filters']>['holdout'],
  bucketingValue: string,
): string | undefined {
  if (holdout?.id == null || holdout.exclusion_percentage == null) return undefined;
  const raw = Number(holdout.exclusion_percentage);
  if (!Number.isFinite(raw)) return undefined;
  const percentage = Math.min(Math.max(raw, 0), 100);
  if (percentage !== 100 && flagHash('holdout', bucketingValue, '', '-') > percentage / 100) return undefined;
  return `holdout-${holdout.id}`;
}

/** What a condition whose regex the server must judge would give if it matched (for the agreement check). */
export function regexOutcome(
  flag: FlagDefinition,
  condition: FlagCondition,
  bucketingValue: string,
  earlyExit: boolean,
): FlagValue {
  if (earlyExit && isRolledOut(flag.key, bucketingValue, condition.rollout_percentage)) return false;
  return conditionValue(flag, condition, bucketingValue);
}
