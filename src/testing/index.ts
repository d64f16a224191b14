export { FlagsTestingModule, type FlagsTestingOptions } from './flags-testing.module.js';
export {
  FlagsOverrides,
  type FlagOverride,
  type FlagOverrides,
  type FlagOverrideValue,
} from '../overrides/flags-overrides.js';
export { FakePostHog } from './fake-posthog/fake-posthog.js';
export type {
  FakeBatch,
  FakeDefinitionsRequest,
  FakeEvent,
  FakeFlagAnswer,
  FakeFlagContext,
  FakeFlagRule,
  FakeFlagSetting,
  FakeFlagsRequest,
  FakeFlagsRequestBody,
  FakeFlagValue,
  FakeOutage,
  FakeOutageOptions,
} from './fake-posthog/fake-posthog.types.js';
export type { FakeRemoteConfigRequest } from './fake-posthog/fake-remote-config.js';
