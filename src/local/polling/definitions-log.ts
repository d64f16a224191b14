import { Logger } from '@nestjs/common';
import { LIBRARY_NAME } from '../../flags.constants.js';
import { LogEpisode } from '../../util/log-episode.js';
import { messageOf } from '../../util/message-of.js';
import type { KeepOutcome } from '../sharing/definitions-store.js';

/**
 * The log lines of the definitions poller, each kind of trouble an episode ({@link LogEpisode}): a line when it
 * starts, a summary a minute at most, a line when it is over. `where` names the shared store (key, prefix, service).
 */
export class DefinitionsLog {
  private readonly logger = new Logger(LIBRARY_NAME);
  /** `/flags/definitions` failing. */
  readonly upstream: LogEpisode;
  /** The shared store (Redis) unreachable: this instance polls PostHog itself meanwhile. */
  readonly unreachable: LogEpisode;
  /** The shared value unusable (garbage, wrong shape, over the bound) or another project's: not adopted. */
  readonly unusable: LogEpisode;
  /** The poller could not publish (serialising, the bound, the write). */
  readonly publishing: LogEpisode;
  /** The poller found the shared value missing, altered or another project's, and republished. */
  readonly repairs: LogEpisode;
  /** Whether the definitions were said to be stale (and not fresh again since). */
  private saidStale = false;
  private readonly where: string;
  private readonly inForce: () => string;

  /**
   * @param where the shared store (key, prefix, service).
   * @param inForce what local evaluation evaluates with meanwhile, in words (which definitions, or none).
   * @param cacheOnly a cache-only reader (no secret key): it never polls PostHog instead of the store.
   */
  constructor(where: string, inForce: () => string, cacheOnly = false) {
    this.where = where;
    this.inForce = inForce;
    const meanwhile = cacheOnly ? 'keeping the definitions loaded (cache-only reader)' : 'polling PostHog directly';
    this.upstream = new LogEpisode(this.logger, {
      started: (why) => `PostHog /flags/definitions unavailable (${why}); ${inForce()}`,
      lasting: (failures, why) =>
        `PostHog /flags/definitions still failing: ${failures} more failed polls (last: ${why})`,
      ended: () => 'PostHog /flags/definitions answers again',
    });
    this.unreachable = new LogEpisode(this.logger, {
      started: (why) => `shared flag definitions unavailable (${why}); ${meanwhile} until they are back`,
      lasting: (failures, why) => `shared flag definitions still unavailable: ${failures} more errors (last: ${why})`,
      ended: () => 'shared flag definitions are reachable again',
    });
    this.unusable = new LogEpisode(this.logger, {
      started: (why) => `shared flag definitions at ${where} not used: ${why}`,
      lasting: (failures, why) => `shared flag definitions at ${where} still not used: ${failures} more reads (${why})`,
      ended: () => `shared flag definitions at ${where} are usable again`,
    });
    this.publishing = new LogEpisode(this.logger, {
      started: (why) => `publishing the flag definitions to ${where} failed: ${why}; evaluating with them here`,
      lasting: (failures, why) => `publishing the flag definitions still failing: ${failures} more (last: ${why})`,
      ended: () => `the flag definitions are published to ${where} again`,
    });
    this.repairs = new LogEpisode(this.logger, {
      started: (what) => `the shared flag definitions at ${where} were ${what}: republished this project's`,
      lasting: (count, what) => `the shared flag definitions at ${where} republished ${count} more times (${what})`,
      ended: () => `the shared flag definitions at ${where} stay as published`,
    });
  }

  /** What the poller's keep did: a repair is reported, a plain keep or publish ends a repair episode. */
  kept(outcome: KeepOutcome): void {
    this.publishing.succeeded();
    if (outcome.kind === 'published' && outcome.repaired) this.repairs.failed(REPAIRED[outcome.repaired]);
    else this.repairs.succeeded();
  }

  /** Says at startup that this instance is a cache-only reader of the store. */
  cacheOnlyReader(): void {
    this.logger.log(
      'local evaluation: cache-only reader (no secret key): evaluating flags from the shared definitions, which the ' +
        `instance holding the secret key publishes; PostHog's definitions endpoint is never called from here at ${this.where}`,
    );
  }

  /** Says that bootstrap went on without the definitions after waiting `holdMs` for them. */
  notReadyInTime(holdMs: number): void {
    this.logger.warn(
      `flag definitions not loaded within holdBootstrapMs (${holdMs} ms): starting without them; flags are asked ` +
        'of PostHog /flags (or the fallback cache) until they load',
    );
  }

  /** Says that a round failed unexpectedly (a bug, not PostHog's or the store's trouble). */
  roundFailed(error: unknown): void {
    this.logger.error(`flag definitions poll failed: ${messageOf(error)}`);
  }

  /** Says that the poller lock had no TTL (it would never have expired) and was given one of `ttlMs`. */
  lockWithoutTtl(ttlMs: number): void {
    this.logger.warn(
      `the poller lock of ${this.where} had no TTL (it would never expire, and nobody would poll PostHog for the ` +
        `fleet): gave it ${ttlMs} ms, its holder unchanged; an instance takes the poller's role over then unless ` +
        'its holder renews it',
    );
  }

  /** Says that the poller lock's key held another Redis type (nobody could hold it) and this instance's replaced it. */
  lockOfAnotherType(): void {
    this.logger.warn(
      `the poller lock of ${this.where} held another Redis type than a string (nobody could hold it, and every ` +
        "instance would poll PostHog on its own): replaced it with this instance's lock, which polls for the fleet",
    );
  }

  /**
   * Says once when the definitions become stale (`polledAt`: when PostHog was last polled for them, by any
   * instance; undefined: never) and once when they are fresh again.
   */
  staleness(stale: boolean, polledAt: number | undefined, intervalMs: number): void {
    if (stale && !this.saidStale) {
      this.saidStale = true;
      const window = `3 poll intervals (${3 * intervalMs} ms)`;
      const when =
        polledAt === undefined
          ? `PostHog not polled successfully by any instance in the ${window} since startup`
          : `last polled at ${new Date(polledAt).toISOString()} (by any instance), more than ${window} ago`;
      this.logger.warn(`flag definitions are stale: ${when}; ${this.inForce()}`);
    } else if (!stale && this.saidStale) {
      this.saidStale = false;
      this.logger.log('flag definitions are fresh again');
    }
  }
}

const REPAIRED: Record<NonNullable<Extract<KeepOutcome, { kind: 'published' }>['repaired']>, string> = {
  missing: 'missing (expired, or flushed)',
  unusable: 'altered (not what this poller published)',
  foreign: "another project's (give each project its own prefix or service)",
};
