import type { Logger } from '@nestjs/common';

/** The lines of one kind of trouble. */
export interface EpisodeLines {
  /** Logged (warn, or error) when the trouble starts. */
  started(reason: string): string;
  /** Logged (warn, or error) at most once per summary interval while it lasts: failures since the last line, the last reason. */
  lasting(failures: number, reason: string): string;
  /** Logged (log) once it has been healthy for the quiet period: failures since the last line. */
  ended(failures: number): string;
}

/** How long without a failure, after a success, ends an episode. */
export const EPISODE_QUIET_MS = 10_000;

/** How often, at most, a lasting episode is summed up. */
export const EPISODE_SUMMARY_MS = 60_000;

/**
 * Logs one kind of trouble as episodes, whatever its pattern (an outage, or a flapping upstream failing one call
 * in ten): a line when it starts, one summary a minute at most while it lasts (failures counted, the last reason),
 * and a line when it has been healthy for {@link EPISODE_QUIET_MS}. A few lines a minute, never one per request.
 * No timers: the clock is read when something happens (the monotonic one, `performance.now()`).
 */
export class LogEpisode {
  private ongoing = false;
  private failuresSinceLine = 0;
  private lastFailureAt = 0;
  private lastLineAt = 0;
  private lastReason = '';
  /** What was said once in this episode. */
  private readonly said = new Set<string>();

  constructor(
    private readonly logger: Pick<Logger, 'error' | 'warn' | 'log'>,
    private readonly lines: EpisodeLines,
    /** The level of the lines that start and sum up an episode (its end is always `log`). */
    private readonly level: 'warn' | 'error' = 'warn',
  ) {}

  /** Whether an episode is under way. */
  get active(): boolean {
    return this.ongoing;
  }

  /** Something failed for `reason`: starts an episode, or counts toward its next summary. */
  failed(reason: string): void {
    const now = performance.now();
    this.lastFailureAt = now;
    this.lastReason = reason;
    if (!this.ongoing) {
      this.ongoing = true;
      this.failuresSinceLine = 0;
      this.lastLineAt = now;
      this.logger[this.level](this.lines.started(reason));
      return;
    }
    this.failuresSinceLine++;
    if (now - this.lastLineAt < EPISODE_SUMMARY_MS) return;
    this.logger[this.level](this.lines.lasting(this.failuresSinceLine, this.lastReason));
    this.lastLineAt = now;
    this.failuresSinceLine = 0;
  }

  /** Something worked: ends the episode once no failure has come for the quiet period. */
  succeeded(): void {
    if (!this.ongoing || performance.now() - this.lastFailureAt < EPISODE_QUIET_MS) return;
    this.ongoing = false;
    this.said.clear();
    this.logger.log(this.lines.ended(this.failuresSinceLine));
  }

  /** Runs `say` once per episode for `topic` (the first time it is asked while the episode lasts). */
  once(topic: string, say: () => void): void {
    if (this.said.has(topic)) return;
    this.said.add(topic);
    say();
  }
}
