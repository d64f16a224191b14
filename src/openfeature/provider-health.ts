import { ProviderEvents, type OpenFeatureEventEmitter } from '@openfeature/server-sdk';
import type { Subscription } from 'rxjs';
import type { FlagsEvent } from '../monitor/flags-events.js';
import type { FlagsService } from '../flags.service.js';

/** How often a stale provider checks whether the service is healthy again. */
const RECHECK_MS = 1000;

/**
 * Tells OpenFeature what the bound service's events mean for the provider: `PROVIDER_STALE` while the circuit is
 * not closed (PostHog is down: answers are last known values) or local evaluation's definitions are stale, then
 * `PROVIDER_READY` again; `PROVIDER_CONFIGURATION_CHANGED` with `flagsChanged` when new flag definitions change
 * flags. Checked when the circuit changes and at each definitions poll's outcome (a circuit open at startup is
 * reported at its next probe), and every second while stale.
 */
export class ProviderHealth {
  private stale = false;
  /** While stale: checks again every second, since recovering (a `304` poll, a half-open probe) emits nothing. */
  private recheck?: NodeJS.Timeout;
  private readonly subscription: Subscription;

  constructor(
    private readonly flags: FlagsService,
    private readonly events: OpenFeatureEventEmitter,
  ) {
    this.subscription = flags.events$.subscribe((event) => this.seen(event));
  }

  /** Stops listening (the provider is unbound). */
  close(): void {
    this.subscription.unsubscribe();
    clearInterval(this.recheck);
  }

  private seen(event: FlagsEvent): void {
    switch (event.type) {
      case 'definitions_loaded':
        if (event.flagsChanged.length > 0) {
          this.events.emit(ProviderEvents.ConfigurationChanged, {
            flagsChanged: event.flagsChanged,
            message: `flag definitions changed (${event.source})`,
          });
        }
        this.check();
        return;
      case 'definitions_failed':
      case 'circuit_opened':
      case 'circuit_closed':
        this.check();
        return;
    }
  }

  /** Emits `PROVIDER_STALE` or `PROVIDER_READY` when the service's health changed since the last check. */
  private check(): void {
    const status = this.flags.status();
    const reason =
      status.circuit !== 'closed'
        ? `PostHog is down (circuit ${status.circuit}): answers are last known values`
        : status.definitions.stale
          ? 'local evaluation: the flag definitions are stale'
          : undefined;
    if ((reason !== undefined) === this.stale) return;
    this.stale = reason !== undefined;
    clearInterval(this.recheck);
    this.recheck = this.stale ? setInterval(() => this.check(), RECHECK_MS).unref() : undefined;
    this.events.emit(this.stale ? ProviderEvents.Stale : ProviderEvents.Ready, {
      message: reason ?? 'PostHog answers again',
    });
  }
}
