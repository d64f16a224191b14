import { Logger } from '@nestjs/common';
import { LIBRARY_NAME } from '../../flags.constants.js';
import type { DefinitionsStatus } from '../../monitor/flags-events.js';
import type { FlagsMonitor } from '../../monitor/flags-monitor.js';
import type { LogEpisode } from '../../util/log-episode.js';
import { UpstreamError, type UpstreamFailureReason } from '../../pipeline/upstream-error.js';

/** This many failed polls in a row make the definitions `failing` (and the health indicator say `degraded`). */
export const FAILING_AFTER_POLLS = 3;

/**
 * The failed polls of `/flags/definitions` in a row, and what they mean: the last failure, the backoff (polls refused
 * for the key or rate-limited), a key refused (said once per episode), the quota used up (said once per episode).
 */
export class PollFailures {
  private readonly logger = new Logger(LIBRARY_NAME);
  private last?: DefinitionsStatus['lastFailure'];
  private inARow = 0;
  /** Consecutive polls refused for the key or rate-limited: the next waits `interval × 2^n`, 60 s at most. */
  private refusals = 0;
  private keyRejected = false;
  private quotaReported = false;

  /**
   * @param monitor told of every failure.
   * @param upstream the log episode of `/flags/definitions` failing.
   */
  constructor(
    private readonly monitor: FlagsMonitor,
    private readonly upstream: LogEpisode,
  ) {}

  /** Polls refused for the key or rate-limited in a row (the backoff's exponent). */
  get backoffCount(): number {
    return this.refusals;
  }

  /** The failure fields of `status()`. */
  status(): Pick<DefinitionsStatus, 'lastFailure' | 'failedPolls' | 'failing'> {
    return {
      ...(this.last ? { lastFailure: { ...this.last } } : {}),
      failedPolls: this.inARow,
      failing: this.inARow >= FAILING_AFTER_POLLS,
    };
  }

  /** A poll succeeded (`200` or `304`): every episode ends. */
  succeeded(): void {
    this.inARow = 0;
    this.refusals = 0;
    this.keyRejected = false;
    this.quotaReported = false;
    this.upstream.succeeded();
  }

  /** A poll failed: counted, told, said; its reason (`http_402`: the caller drops the definitions). */
  failed(error: unknown): UpstreamFailureReason {
    const reason = error instanceof UpstreamError ? error.reason : 'network';
    this.last = { at: new Date(), reason };
    this.inARow++;
    this.monitor.definitionsFailed(reason);
    if (reason === 'http_402') {
      this.quotaLimited();
    } else if (reason === 'http_401' || reason === 'http_403' || reason === 'http_429') {
      this.refusals++;
      if (reason !== 'http_429') this.reportKeyRejected(reason);
    } else {
      this.upstream.failed(reason);
    }
    return reason;
  }

  /** `402`: PostHog's flag quota is used up; said once until a poll succeeds. */
  private quotaLimited(): void {
    if (this.quotaReported) return;
    this.quotaReported = true;
    this.logger.warn(
      'PostHog /flags/definitions: feature flag quota exceeded (HTTP 402); local evaluation stops until it ' +
        'recovers, flags are asked of /flags',
    );
  }

  private reportKeyRejected(reason: string): void {
    if (this.keyRejected) return;
    this.keyRejected = true;
    this.logger.error(
      `PostHog /flags/definitions refused the secret key (${reason}): check POSTHOG_SECRET_KEY (a project secret ` +
        'key phs_... or a personal API key with feature_flag:read); keeping the definitions loaded',
    );
  }
}
