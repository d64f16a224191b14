// Type-checked against the packed library by the package test, once per module setting an application may use.
import { ConfigModule, ConfigService } from '@nestjs/config';
import {
  FlagsModule,
  FlagsService,
  type FlagResult,
  type FlagsModuleOptions,
  type FlagsOptionsFactory,
} from 'nestjs-posthog-flags';
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

// Integer options take what ConfigService.get<string>() returns (digit strings, checked at startup).
export const fromConfig = FlagsModule.forRootAsync({
  imports: [ConfigModule],
  inject: [ConfigService],
  useFactory: (config: ConfigService) => ({
    timeoutMs: config.get<string>('FLAGS_TIMEOUT_MS', '1000'),
    retries: config.get<string>('FLAGS_RETRIES'),
    localEvaluation: { pollIntervalMs: config.get<string>('FLAGS_POLL_MS', '30000') },
  }),
});

export class FlagsConfig implements FlagsOptionsFactory {
  createFlagsOptions(): FlagsModuleOptions {
    return { fallbackAfterMs: '250', circuitBreaker: { failureThreshold: '3' } };
  }
}
export const fromClass = FlagsModule.forRootAsync({ useClass: FlagsConfig });
