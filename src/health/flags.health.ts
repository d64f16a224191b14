import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { FlagsService } from '../flags.service.js';

/**
 * A `@nestjs/terminus` health indicator for the flags: up while PostHog answers; up with `degraded: true`
 * while answers come from the fallback cache, or while local evaluation's definitions were polled more than 3 poll
 * intervals ago by any instance (`definitions: 'stale'`, `definitionsPolledAt`); down only when PostHog is down
 * (the circuit is open) and no cache is reachable. Register it as a provider beside `TerminusModule`.
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
      ...(status.lastSuccessAt ? { lastSuccessAt: status.lastSuccessAt.toISOString() } : {}),
      ...(status.lastFailure ? { lastFailure: status.lastFailure.reason } : {}),
      ...(status.definitions.stale ? { definitions: 'stale' } : {}),
      ...(status.definitions.stale && status.definitions.polledAt
        ? { definitionsPolledAt: status.definitions.polledAt.toISOString() }
        : {}),
    };
    if (status.upstream === 'ok' && !status.definitions.stale) return indicator.up(details);
    if (status.upstream === 'down' && !status.cache.connected) return indicator.down(details);
    return indicator.up({ ...details, degraded: true });
  }
}
