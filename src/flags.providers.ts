import { RequestMethod, type MiddlewareConsumer, type Provider } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { BatchClient } from './exposures/batch-client.js';
import { CacheAccess } from './evaluation/cache-access.js';
import { EVALUATION_PATH } from './evaluation/evaluation-path.js';
import { FlagReads } from './evaluation/flag-reads.js';
import { SnapshotFactory } from './evaluation/snapshot-factory.js';
import { UnsendableProperties } from './evaluation/unsendable-properties.js';
import { ExposureQueue } from './exposures/exposure-queue.js';
import { LeanExposures } from './exposures/lean-exposures.js';
import type { FlagCache } from './cache/flag-cache.js';
import { DEFINITIONS_STORE, FLAG_CACHE, FLAGS_CONFIG } from './flags.constants.js';
import { FlagsMonitor } from './monitor/flags-monitor.js';
import { FlagsService } from './flags.service.js';
import { FlagsServiceBinder } from './openfeature/flags-service-binder.js';
import { MODULE_DENIAL, ModuleDenial } from './guard/module-denial.js';
import { DefinitionsPoller } from './local/polling/definitions-poller.js';
import { definitionsStoreSettings } from './local/polling/store-settings.js';
import { pickDefinitionsStore } from './local/sharing/pick-definitions-store.js';
import type { ResolvedFlagsOptions } from './options/flags-options.js';
import { FlagsOverrides } from './overrides/flags-overrides.js';
import { FlagsRequestInterceptor } from './request/flags-request.interceptor.js';
import { FlagsRequestMiddleware } from './request/flags-request.middleware.js';
import { FlagsScopeGuard } from './request/flags-scope.guard.js';
import { RemoteConfigPayloads } from './remote-config/remote-config-payloads.js';
import { RequestContexts } from './request/request-contexts.js';
import { ContextSnapshots } from './request/context-snapshots.js';
import { FlagsUpstream } from './upstream/flags-upstream.js';
import { PostHogClient } from './upstream/posthog-client.js';

/**
 * Where the flag definitions are shared ({@link pickDefinitionsStore}): made here from the cache's
 * `definitionsHome`, so that the cache knows nothing of local evaluation.
 */
const DEFINITIONS_STORE_PROVIDER: Provider = {
  provide: DEFINITIONS_STORE,
  useFactory: (config: ResolvedFlagsOptions, cache: FlagCache) =>
    pickDefinitionsStore(config, cache, definitionsStoreSettings(config)),
  inject: [FLAGS_CONFIG, FLAG_CACHE],
};

/**
 * The providers that do the work, given `FLAGS_CONFIG`, `FLAG_CACHE` and `FlagsOverrides`: the same in
 * `FlagsModule` and in `FlagsTestingModule`, which differ only in those three.
 */
export const FLAGS_WORKERS: Provider[] = [
  FlagsMonitor,
  LeanExposures,
  BatchClient,
  ExposureQueue,
  PostHogClient,
  FlagsUpstream,
  DEFINITIONS_STORE_PROVIDER,
  DefinitionsPoller,
  CacheAccess,
  FlagReads,
  ...EVALUATION_PATH,
  SnapshotFactory,
  UnsendableProperties,
  RemoteConfigPayloads,
  RequestContexts,
  ContextSnapshots,
  FlagsService,
  FlagsServiceBinder,
  MODULE_DENIAL,
  { provide: APP_GUARD, useClass: FlagsScopeGuard },
  { provide: APP_INTERCEPTOR, useClass: FlagsRequestInterceptor },
];

/**
 * What `FlagsModule` and `FlagsTestingModule` export: what users inject (`FlagsService`, `FlagsOverrides`), and
 * what Nest needs to build, in the application's own modules, the guard and interceptor `@FeatureFlag` applies
 * (`ContextSnapshots`, `ModuleDenial`). Never the configuration: it holds the keys.
 */
export const FLAGS_EXPORTS = [FlagsService, FlagsOverrides, ContextSnapshots, ModuleDenial];

/**
 * Enters every request's scope before guards run (see {@link FlagsRequestMiddleware}): `FlagsModule` and
 * `FlagsTestingModule` both call it from `configure`.
 */
export function enterRequestScope(consumer: MiddlewareConsumer): void {
  consumer.apply(FlagsRequestMiddleware).forRoutes({ path: '*', method: RequestMethod.ALL });
}
