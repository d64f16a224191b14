/** Per-read options of `FlagEvaluations.getFlag` (and `getFlagResult`). */
export interface FlagReadOptions {
  /** Send the `$feature_flag_called` of this read. Default: the module's `sendFeatureFlagEvents`. */
  sendFeatureFlagEvents?: boolean;
}

/** Per-read options of `FlagEvaluations.isEnabled`. */
export interface IsEnabledOptions extends FlagReadOptions {
  /** What an unknown flag reads as. Default `false`. */
  defaultValue?: boolean;
}
