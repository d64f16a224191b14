// Type-checked against the packed library by the package test, once per module setting an application may use.
import { FlagsModule, FlagsService, type FlagResult } from 'nestjs-posthog-flags';
import { FlagsHealthIndicator } from 'nestjs-posthog-flags/health';
import { FlagsTestingModule } from 'nestjs-posthog-flags/testing';
import { PostHogFlagsProvider } from 'nestjs-posthog-flags/openfeature';

export const registered = FlagsModule.forRoot('memory://local?ttl=60');
export async function beta(flags: FlagsService): Promise<FlagResult | undefined> {
  return flags.getFlagResult('beta', 'user-1');
}
export const indicator: typeof FlagsHealthIndicator = FlagsHealthIndicator;
export const testing = FlagsTestingModule.forRoot({ beta: true });
export const provider = new PostHogFlagsProvider({ sendFeatureFlagEvents: false });
export const withOpenFeature = FlagsModule.forRoot({ openFeature: provider });
