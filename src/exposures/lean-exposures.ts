import { Injectable } from '@nestjs/common';

/**
 * PostHog's `minimal_flag_called_events` gate, kept as posthog-node keeps it: the project's last word, from the
 * flag definitions last loaded (`minimal_flag_called_events`; off when a `402` drops them) or the last `/flags`
 * answer (`minimalFlagCalledEvents`; off when quota-limited), whichever came last. While it is on, the
 * `$feature_flag_called` of a flag without an experiment (`has_experiment: false`) carries only the properties
 * posthog-node's `minimizeFlagCalledEventProperties` keeps.
 */
@Injectable()
export class LeanExposures {
  private on = false;

  /** Whether PostHog asked for lean exposures. */
  get enabled(): boolean {
    return this.on;
  }

  /** What PostHog said last. */
  set(on: boolean): void {
    this.on = on;
  }
}
