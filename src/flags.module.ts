import {
  Inject,
  Module,
  type DynamicModule,
  type MiddlewareConsumer,
  type NestModule,
  type OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import { createFlagCache } from './cache/create-flag-cache.js';
import type { FlagCache } from './cache/flag-cache.js';
import { FLAG_CACHE, FLAGS_CONFIG } from './flags.constants.js';
import {
  ConfigurableFlagsModule,
  FLAGS_MODULE_OPTIONS,
  registerAsync,
  type FlagsModuleAsyncOptions,
  type FlagsModuleRootOptions,
} from './flags.module-definition.js';
import { enterRequestScope, FLAGS_EXPORTS, FLAGS_WORKERS } from './flags.providers.js';
import type { FlagsModuleOptions, ResolvedFlagsOptions } from './options/flags-options.js';
import { resolveFlagsOptions } from './options/resolve-flags-options.js';
import { FlagsOverrides } from './overrides/flags-overrides.js';
import { projectFingerprint } from './local/shared-definitions.js';

/** The providers every registration shares: validated config, the cache the URL picks, overrides, the workers. */
const CORE_PROVIDERS: Provider[] = [
  {
    provide: FLAGS_CONFIG,
    useFactory: (options: FlagsModuleOptions) => resolveFlagsOptions(options),
    inject: [FLAGS_MODULE_OPTIONS],
  },
  {
    provide: FLAG_CACHE,
    useFactory: (config: ResolvedFlagsOptions) => createFlagCache(config.cache, projectFingerprint(config.apiKey)),
    inject: [FLAGS_CONFIG],
  },
  {
    provide: FlagsOverrides,
    useFactory: (config: ResolvedFlagsOptions) => new FlagsOverrides(config.overrides),
    inject: [FLAGS_CONFIG],
  },
  ...FLAGS_WORKERS,
];

/**
 * PostHog feature flags with a fallback cache. Register once, at the root:
 * `FlagsModule.forRoot()` (all from the environment), `FlagsModule.forRoot('redis://...')`,
 * `FlagsModule.forRoot({ ...options })` or `FlagsModule.forRootAsync({ useFactory, inject })` (or `useClass`,
 * `useExisting`). Global unless `isGlobal: false`.
 */
@Module({})
export class FlagsModule extends ConfigurableFlagsModule implements NestModule, OnApplicationShutdown {
  constructor(@Inject(FLAG_CACHE) private readonly cache: FlagCache) {
    super();
  }

  /** Registers the module with a cache URL or options; whatever is not given comes from the environment. */
  static override forRoot(cacheUrlOrOptions: string | FlagsModuleRootOptions = {}): DynamicModule {
    const options = typeof cacheUrlOrOptions === 'string' ? { cacheUrl: cacheUrlOrOptions } : cacheUrlOrOptions;
    return withCoreProviders(super.forRoot(options));
  }

  /**
   * Registers the module with options built by a factory (`useFactory`, `inject`), e.g. from `ConfigService`, or
   * by a class's `createFlagsOptions()` (`useClass`, `useExisting`).
   */
  static override forRootAsync(options: FlagsModuleAsyncOptions): DynamicModule {
    return withCoreProviders(registerAsync(options, (builderOptions) => super.forRootAsync(builderOptions)));
  }

  /** Enters every request's scope before its guards run: the request's context and its one evaluation per context. */
  configure(consumer: MiddlewareConsumer): void {
    enterRequestScope(consumer);
  }

  /** Closes the cache this module opened, once the evaluations in flight have settled. */
  async onApplicationShutdown(): Promise<void> {
    await this.cache.close();
  }
}

/** The builder's registration (its options provider), completed with the module's own providers. */
function withCoreProviders(definition: DynamicModule): DynamicModule {
  return {
    ...definition,
    providers: [...(definition.providers ?? []), ...CORE_PROVIDERS],
    exports: FLAGS_EXPORTS,
  };
}
