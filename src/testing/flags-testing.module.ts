import { Module, type DynamicModule, type MiddlewareConsumer, type NestModule, type Provider } from '@nestjs/common';
import { MemoryFlagCache } from '../cache/memory-flag-cache.js';
import { FLAG_CACHE, FLAGS_CONFIG } from '../flags.constants.js';
import { enterRequestScope, FLAGS_EXPORTS, FLAGS_WORKERS } from '../flags.providers.js';
import type { FlagsModuleOptions, ResolvedFlagsOptions } from '../options/flags-options.js';
import { resolveFlagsOptions } from '../options/resolve-flags-options.js';
import { FlagsOverrides, type FlagOverrides } from '../overrides/flags-overrides.js';

/** What `FlagsTestingModule.forRoot` takes besides the flags: the guard's options, and an OpenFeature provider. */
export type FlagsTestingOptions = Pick<FlagsModuleOptions, 'contextFactory' | 'exception' | 'openFeature'>;

/**
 * `FlagsModule` for an application's tests: the real `FlagsService`, `@FeatureFlag` guard and `@Flags()`, over
 * fixed values instead of PostHog (no HTTP, no timers, no API key). Every result has `source: 'override'`; a flag
 * not given is unknown. Inject {@link FlagsOverrides} to change values between requests (`set`, `reset`).
 *
 * ```ts
 * Test.createTestingModule({ imports: [FlagsTestingModule.forRoot({ beta: true, checkout: 'test' })] });
 * ```
 */
@Module({})
export class FlagsTestingModule implements NestModule {
  /**
   * @param flags Values by flag key: `true`, `false`, a variant, `{ value, payload }`, or a function of the
   * context returning one of those (`undefined`: not known for that user).
   * @param options The guard's `contextFactory` and `exception`, and `openFeature`, as for `FlagsModule`.
   */
  static forRoot(flags: FlagOverrides = {}, options: FlagsTestingOptions = {}): DynamicModule {
    const providers: Provider[] = [
      { provide: FLAGS_CONFIG, useFactory: () => testingConfig(options) },
      {
        provide: FLAG_CACHE,
        useFactory: (config: ResolvedFlagsOptions) => testingCache(config),
        inject: [FLAGS_CONFIG],
      },
      { provide: FlagsOverrides, useValue: new FlagsOverrides(flags) },
      ...FLAGS_WORKERS,
    ];
    return {
      module: FlagsTestingModule,
      global: true,
      providers,
      exports: FLAGS_EXPORTS,
    };
  }

  /** Enters every request's scope before its guards run, as `FlagsModule` does. */
  configure(consumer: MiddlewareConsumer): void {
    enterRequestScope(consumer);
  }
}

/** The module's configuration, offline: nothing is ever asked of PostHog, so no key is needed. */
function testingConfig(options: FlagsTestingOptions): ResolvedFlagsOptions {
  const config = resolveFlagsOptions({ ...options, apiKey: 'phc_flags_testing_module', cacheUrl: 'memory://' }, {});
  return { ...config, apiKey: '', offline: true };
}

/** An empty memory cache: nothing is ever written to it, since nothing is asked of PostHog. */
function testingCache(config: ResolvedFlagsOptions): MemoryFlagCache {
  if (config.cache.backend !== 'memory') throw new Error('FlagsTestingModule: expected a memory cache');
  return new MemoryFlagCache(config.cache);
}
