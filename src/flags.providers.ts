import type { Provider } from '@nestjs/common';
import { BatchClient } from './exposures/batch-client.js';
import { CacheAccess } from './evaluation/cache-access.js';
import { FlagsEvaluator } from './evaluation/flags-evaluator.js';
import { FreshWindowStage } from './evaluation/fresh-window-stage.js';
import { LocalFirstStage } from './evaluation/local-first-stage.js';
import { SharedStage } from './evaluation/shared-stage.js';
import { UpstreamStage } from './evaluation/upstream-stage.js';
import { ExposureQueue } from './exposures/exposure-queue.js';
import { FLAGS_CONFIG } from './flags.constants.js';
import { FlagsMonitor } from './monitor/flags-monitor.js';
import { FlagsService } from './flags.service.js';
import { DefinitionsPoller } from './local/definitions-poller.js';
import { FlagsOverrides } from './overrides/flags-overrides.js';
import { FlagsUpstream } from './upstream/flags-upstream.js';
import { PostHogClient } from './upstream/posthog-client.js';

/**
 * The providers that do the work, given `FLAGS_CONFIG`, `FLAG_CACHE` and `FlagsOverrides`: the same in
 * `FlagsModule` and in `FlagsTestingModule`, which differ only in those three.
 */
export const FLAGS_WORKERS: Provider[] = [
  FlagsMonitor,
  BatchClient,
  ExposureQueue,
  PostHogClient,
  FlagsUpstream,
  DefinitionsPoller,
  CacheAccess,
  UpstreamStage,
  FreshWindowStage,
  SharedStage,
  LocalFirstStage,
  FlagsEvaluator,
  FlagsService,
];

/** What `FlagsModule` and `FlagsTestingModule` export. */
export const FLAGS_EXPORTS = [FlagsService, FlagsOverrides, FLAGS_CONFIG, FlagsEvaluator, ExposureQueue];
