import { Inject, Module, type DynamicModule, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { createFlagCache } from './cache/create-flag-cache.js';
import type { FlagCache } from './cache/flag-cache.js';
import { FLAG_CACHE, FLAGS_CONFIG, FLAGS_MODULE_OPTIONS } from './flags.constants.js';
import {
  resolveFlagsOptions,
  type FlagsModuleAsyncOptions,
  type FlagsModuleOptions,
  type ResolvedFlagsOptions,
} from './flags.options.js';
import { FlagsMonitor } from './flags.monitor.js';
import { FlagsService } from './flags.service.js';
import { FlagsUpstream } from './upstream/flags-upstream.js';
import { PostHogClient } from './upstream/posthog-client.js';

/** The providers every registration shares: validated config, the cache the URL picks, upstream, service. */
const CORE_PROVIDERS: Provider[] = [
  {
    provide: FLAGS_CONFIG,
    useFactory: (options: FlagsModuleOptions) => resolveFlagsOptions(options),
    inject: [FLAGS_MODULE_OPTIONS],
  },
  {
    provide: FLAG_CACHE,
    useFactory: (config: ResolvedFlagsOptions) => createFlagCache(config.cache),
    inject: [FLAGS_CONFIG],
  },
  FlagsMonitor,
  PostHogClient,
  FlagsUpstream,
  FlagsService,
];

/**
 * PostHog feature flags with a fallback cache. Register once, at the root:
 * `FlagsModule.forRoot()` (all from the environment), `FlagsModule.forRoot('redis://...')`,
 * `FlagsModule.forRoot({ ...options })` or `FlagsModule.forRootAsync({ useFactory, inject })`.
 */
@Module({})
export class FlagsModule implements OnApplicationShutdown {
  constructor(@Inject(FLAG_CACHE) private readonly cache: FlagCache) {}

  /** Registers the module with a cache URL or options; whatever is not given comes from the environment. */
  static forRoot(cacheUrlOrOptions: string | FlagsModuleOptions = {}): DynamicModule {
    const options = typeof cacheUrlOrOptions === 'string' ? { cacheUrl: cacheUrlOrOptions } : cacheUrlOrOptions;
    return FlagsModule.register(options.isGlobal, [], { provide: FLAGS_MODULE_OPTIONS, useValue: options });
  }

  /** Registers the module with options built by a factory, e.g. from `ConfigService`. */
  static forRootAsync(options: FlagsModuleAsyncOptions): DynamicModule {
    return FlagsModule.register(options.isGlobal, options.imports ?? [], {
      provide: FLAGS_MODULE_OPTIONS,
      useFactory: options.useFactory,
      inject: options.inject ?? [],
    });
  }

  private static register(isGlobal = true, imports: DynamicModule['imports'], optionsProvider: Provider): DynamicModule {
    return {
      module: FlagsModule,
      global: isGlobal,
      imports,
      providers: [optionsProvider, ...CORE_PROVIDERS],
      exports: [FlagsService, FLAGS_CONFIG],
    };
  }

  /** Closes the cache this module opened. */
  async onApplicationShutdown(): Promise<void> {
    await this.cache.close();
  }
}
