export { FlagsTestingModule, type FlagsTestingOptions } from './flags-testing.module.js';
export {
  FlagsOverrides,
  type FlagOverride,
  type FlagOverrides,
  type FlagOverrideValue,
} from '../overrides/flags-overrides.js';
