/**
 * How often, at most, runs that no one holds any more are let go (as runs start). Short: a held run keeps its
 * holder's objects (a request and its response) alive, and any that outlive a young-generation collection or two
 * are promoted, which costs the garbage collector far more than the sweep costs.
 */
const SWEEP_INTERVAL_MS = 50;

/** One run, and what keeps it joinable once it has settled. */
interface Run<T> {
  promise: Promise<T>;
  /** When the run settled (ms since the epoch); undefined while it is in flight. */
  settledAt?: number;
  /** Whether its holder still wants it joinable; asked only when the settled run is looked up or swept. */
  holdWhile?: () => boolean;
}

/**
 * Shares one run of an evaluation among callers with the same key: while a run for a key is in flight (or held
 * for reuse), asking again joins it instead of starting another.
 *
 * A held run is let go lazily, when it is next looked up or in a sweep of all runs at most every 50 ms as runs
 * start: holding costs no timer and no listener per run.
 */
export class Coalescer<T> {
  private readonly runs = new Map<string, Run<T>>();
  private lastSweepAt = Date.now();

  /** @param maxHoldMs How long a held run may be joined after it settled, however long its holder holds it. */
  constructor(private readonly maxHoldMs = Infinity) {}

  /** The run for `key` if one is in flight, or held and settled less than `maxHoldMs` ago. */
  get(key: string): Promise<T> | undefined {
    const run = this.runs.get(key);
    if (!run) return undefined;
    if (this.isJoinable(run, Date.now())) return run.promise;
    this.runs.delete(key);
    return undefined;
  }

  /**
   * The run for `key`, or a new one from `start`, kept for joiners until it settles, and after that while
   * `holdWhile` returns true (for at most `maxHoldMs`).
   */
  run(key: string, start: () => Promise<T>, holdWhile?: () => boolean): Promise<T> {
    const running = this.get(key);
    if (running) return running;
    this.sweepNowAndThen();
    const run: Run<T> = { promise: start(), holdWhile };
    this.runs.set(key, run);
    const settle = () => {
      run.settledAt = Date.now();
      if (!run.holdWhile && this.runs.get(key) === run) this.runs.delete(key);
    };
    run.promise.then(settle, settle);
    return run.promise;
  }

  private isJoinable(run: Run<T>, now: number): boolean {
    if (run.settledAt === undefined) return true;
    return now - run.settledAt < this.maxHoldMs && run.holdWhile?.() === true;
  }

  /** Lets go of the held runs no one holds any more, at most every {@link SWEEP_INTERVAL_MS}. */
  private sweepNowAndThen(): void {
    const now = Date.now();
    if (now - this.lastSweepAt < SWEEP_INTERVAL_MS) return;
    this.lastSweepAt = now;
    for (const [key, run] of this.runs) if (!this.isJoinable(run, now)) this.runs.delete(key);
  }
}
