import { deepFreeze } from '../util/deep-freeze.js';
import { setOwn } from '../util/own.js';
import type { FlagContext, FlagResult, FlagValue } from '../flags.types.js';

/** A flag's fixed value: on or off, a variant, or a value with its payload. */
export type FlagOverrideValue = FlagValue | { value: FlagValue; payload?: unknown };

/** A flag's fixed value, or a function of whom it is evaluated for (`undefined`: not overridden for them). */
export type FlagOverride = FlagOverrideValue | ((context: FlagContext) => FlagOverrideValue | undefined);

/** Fixed values by flag key. */
export type FlagOverrides = Readonly<Record<string, FlagOverride>>;

/**
 * Flag values that win over every answer (remote, cache, fallback), with `source: 'override'`: the module option
 * `overrides` (or `POSTHOG_FLAG_OVERRIDES`), or the values of `FlagsTestingModule`. Inject it to change them while
 * the application runs (in a test, between requests).
 */
export class FlagsOverrides {
  private readonly current = new Map<string, FlagOverride>();

  constructor(private readonly initial: FlagOverrides = {}) {
    this.reset();
  }

  /**
   * Whether any key is overridden now.
   * @internal
   */
  get active(): boolean {
    return this.current.size > 0;
  }

  /** The keys overridden now. */
  get keys(): string[] {
    return [...this.current.keys()];
  }

  /** Overrides `key` with a value, or a function of the context. */
  set(key: string, override: FlagOverride): void {
    this.current.set(key, override);
  }

  /**
   * Back to the values given at registration (`FlagsTestingModule.forRoot`'s, or the module option `overrides` /
   * `POSTHOG_FLAG_OVERRIDES`), dropping every {@link set} since.
   */
  reset(): void {
    this.current.clear();
    for (const [key, override] of Object.entries(this.initial)) this.current.set(key, override);
  }

  /**
   * Whether every key asked is overridden for `context` (every flag: always false), so nothing need be asked.
   * @internal
   */
  coversAll(context: FlagContext, keys: readonly string[] | undefined): boolean {
    if (!keys || this.current.size === 0) return false;
    return keys.every((key) => this.valueFor(key, context) !== undefined);
  }

  /**
   * `results` with the overridden results for `context` (the keys asked, or every overridden key) written over
   * them, in a map of its own; `results` itself when nothing is overridden for the context.
   * @internal
   */
  appliedTo(
    results: ReadonlyMap<string, FlagResult>,
    context: FlagContext,
    keys: readonly string[] | undefined,
  ): ReadonlyMap<string, FlagResult> {
    if (this.current.size === 0) return results;
    let applied: Map<string, FlagResult> | undefined;
    const evaluatedAt = new Date();
    for (const key of keys ?? this.current.keys()) {
      const value = this.valueFor(key, context);
      if (value !== undefined) (applied ??= new Map(results)).set(key, overrideResult(key, value, evaluatedAt));
    }
    return applied ?? results;
  }

  private valueFor(key: string, context: FlagContext): FlagOverrideValue | undefined {
    const override = this.current.get(key);
    return typeof override === 'function' ? override(context) : override;
  }
}

/** The result an override stands for. */
function overrideResult(key: string, override: FlagOverrideValue, evaluatedAt: Date): FlagResult {
  const { value, payload } = typeof override === 'object' ? override : { value: override, payload: undefined };
  const result: FlagResult = { key, enabled: value !== false, evaluatedAt, source: 'override' };
  if (typeof value === 'string') result.variant = value;
  if (payload !== undefined) result.payload = deepFreeze(payload);
  return result;
}

/**
 * Reads `POSTHOG_FLAG_OVERRIDES`-style text: `key=value` pairs separated by commas, `true` and `false` as booleans,
 * anything else a variant (`new-checkout=true,checkout=test`).
 * @throws {Error} naming the pair that is not `key=value`.
 */
export function parseOverrides(text: string): Record<string, FlagValue> {
  const overrides: Record<string, FlagValue> = {};
  for (const pair of text.split(',').map((part) => part.trim())) {
    if (pair === '') continue;
    const match = /^([A-Za-z0-9_-]+)=(.+)$/.exec(pair);
    if (!match) throw new Error(`"${pair}" is not key=value (e.g. new-checkout=true,checkout=test)`);
    const [, key, value] = match as unknown as [string, string, string];
    setOwn(overrides, key, value === 'true' ? true : value === 'false' ? false : value);
  }
  return overrides;
}
