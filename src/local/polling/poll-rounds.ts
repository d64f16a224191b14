import type { DefinitionsReload } from './definitions-reload.js';

/**
 * Runs the poller's rounds one at a time: the first at {@link start}, each next one when the timer set at the end of
 * the last fires (`nextDelay`; none when it says `undefined`), or at once on {@link now}, which joins a round under
 * way instead. A round that throws is `onError`'s report, never an unhandled rejection. The timer is cleared by
 * {@link stop}.
 */
export class PollRounds {
  private timer?: NodeJS.Timeout;
  private round?: Promise<DefinitionsReload>;
  private stopped = false;

  /**
   * @param run one round, with its report.
   * @param nextDelay the wait before the next round, measured from the end of the last; `undefined`: no timer.
   * @param onError the report of a round that threw (after saying so).
   */
  constructor(
    private readonly run: () => Promise<DefinitionsReload>,
    private readonly nextDelay: () => number | undefined,
    private readonly onError: (error: unknown) => DefinitionsReload,
  ) {}

  /** Starts a round now (the caller knows none is under way). */
  start(): Promise<DefinitionsReload> {
    const round = this.run()
      .catch(this.onError)
      .finally(() => {
        this.round = undefined;
        this.schedule();
      });
    this.round = round;
    return round;
  }

  /** The round under way (`joined`), else one started now; the timer then restarts from its end. */
  async now(): Promise<DefinitionsReload> {
    if (this.round) return { ...(await this.round), joined: true };
    clearTimeout(this.timer);
    return this.start();
  }

  /** No more rounds: the timer is cleared. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    const delay = this.stopped ? undefined : this.nextDelay();
    if (delay !== undefined) this.timer = setTimeout(() => void this.start(), delay);
  }
}
