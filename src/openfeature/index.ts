export { PostHogFlagsProvider, type PostHogFlagsProviderOptions } from './posthog-flags.provider.js';
