import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { DefinitionsStatus, FlagsStatus } from '../monitor/flags-events.js';
import { FlagsService } from '../flags.service.js';

/** Why a not-ready instance is not ready. */
const NOT_READY = 'local evaluation not ready: no flag definitions loaded yet (flags are asked of PostHog /flags)';

/**
 * A `@nestjs/terminus` health indicator for the flags. {@link isHealthy}: up while PostHog answers; up with
 * `degraded: true` and a `reason` while answers come from the fallback cache, while local evaluation's definitions
 * fail to refresh (3 polls in a row) or were last polled (by any instance) more than 3 poll intervals ago; down
 * only when PostHog is down (the circuit is open) and no cache is reachable; with local evaluation on, `ready`
 * says whether definitions are loaded (not ready is not degraded). {@link isReady}: for a readiness probe, down
 * until local evaluation is ready. Their details hold `status()`'s fields in the same shapes. Register it as a
 * provider beside `TerminusModule`.
 */
@Injectable()
export class FlagsHealthIndicator {
  constructor(
    private readonly flags: FlagsService,
    private readonly health: HealthIndicatorService,
  ) {}

  /** The indicator's result under `key` (default `posthog-flags`). */
  isHealthy<const Key extends string = 'posthog-flags'>(key: Key = 'posthog-flags' as Key): HealthIndicatorResult<Key> {
    const indicator = this.health.check(key);
    const status = this.flags.status();
    const details = {
      upstream: status.upstream,
      circuit: status.circuit,
      cache: status.cache,
      ...(status.definitions.mode === 'off' ? {} : { ready: status.definitions.ready }),
      ...(status.lastSuccessAt ? { lastSuccessAt: status.lastSuccessAt } : {}),
      ...(status.lastFailure ? { lastFailure: status.lastFailure } : {}),
      ...(inUse(status.definitions) ? { definitions: definitionsDetails(status.definitions) } : {}),
    };
    const reasons = degradedReasons(status);
    if (reasons.length === 0) return indicator.up(details);
    if (status.upstream === 'down' && !status.cache.connected)
      return indicator.down({ ...details, reason: reasons.join('; ') });
    return indicator.up({ ...details, degraded: true, reason: reasons.join('; ') });
  }

  /**
   * Readiness under `key` (default `posthog-flags-ready`): down with `ready: false` and a `reason` while local
   * evaluation is on and no definitions are loaded; up otherwise (degraded or not: see {@link isHealthy}).
   */
  isReady<const Key extends string = 'posthog-flags-ready'>(
    key: Key = 'posthog-flags-ready' as Key,
  ): HealthIndicatorResult<Key> {
    const indicator = this.health.check(key);
    const { mode, ready } = this.flags.status().definitions;
    if (mode === 'off') return indicator.up({ localEvaluation: 'off' });
    return ready ? indicator.up({ ready }) : indicator.down({ ready, reason: NOT_READY });
  }
}

/** Why the flags are not fully healthy, one phrase per cause; none when they are. */
function degradedReasons({ upstream, lastFailure, definitions }: FlagsStatus): string[] {
  const reasons: string[] = [];
  const last = lastFailure ? ` (last: ${lastFailure.reason})` : '';
  if (upstream === 'down') reasons.push(`PostHog /flags is down, the circuit is open${last}`);
  if (upstream === 'degraded') reasons.push(`PostHog /flags is failing${last}`);
  if (definitions.failing) {
    const why = definitions.lastFailure ? ` (last: ${definitions.lastFailure.reason})` : '';
    reasons.push(`flag definitions not refreshed: ${definitions.failedPolls} polls in a row failed${why}`);
  }
  if (definitions.stale) {
    const when = definitions.polledAt ? `last polled at ${definitions.polledAt.toISOString()}` : 'never polled';
    reasons.push(`flag definitions stale: ${when}, more than 3 poll intervals ago`);
  }
  return reasons;
}

/** Whether local evaluation has loaded or tried to load definitions. */
function inUse(definitions: DefinitionsStatus): boolean {
  return definitions.source !== 'none' || definitions.lastFailure !== undefined || definitions.stale;
}

/** The definitions' part of the details: where they came from, how fresh, the last failure. */
function definitionsDetails(definitions: DefinitionsStatus) {
  const { mode, source, flags, loadedAt, polledAt, failedPolls, failing, stale, lastFailure } = definitions;
  return {
    mode,
    source,
    flags,
    ...(loadedAt ? { loadedAt } : {}),
    ...(polledAt ? { polledAt } : {}),
    failedPolls,
    failing,
    stale,
    ...(lastFailure ? { lastFailure } : {}),
  };
}
