import type { FlagDenial } from '../options/exception-option.js';

/** Options of {@link FeatureFlag}. */
export interface FeatureFlagOptions {
  /** Require this variant instead of "enabled". */
  variant?: string;
  /** The value assumed for a flag when nothing is known of it (anonymous request, no fallback). Default `false`. */
  defaultValue?: boolean;
  /**
   * Thrown when the requirement fails, instead of the module's `exception` or the transport's default (over HTTP,
   * Nest's unknown-route 404): an exception, or a function of the execution context that builds one per denial
   * (`undefined`: the module's, else the default).
   */
  exception?: FlagDenial;
  /**
   * `false`: the guard sends no exposure event (`$feature_flag_called`) for these flags. Default: the module's
   * `sendFeatureFlagEvents`.
   */
  sendFeatureFlagEvents?: boolean;
}

/** One `@FeatureFlag` as the guard reads it: every key must pass. */
export interface FlagRequirement extends FeatureFlagOptions {
  keys: string[];
}

/** Metadata key under which a class or handler lists its {@link FlagRequirement}s. */
export const FLAG_REQUIREMENTS = 'nestjs-posthog-flags:requirements';
