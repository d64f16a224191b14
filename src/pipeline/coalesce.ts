/** How often, at most, held runs past `maxHoldMs` are let go (as runs start), whether or not they were looked up. */
const SWEEP_INTERVAL_MS = 50;

/** One run, and what keeps it joinable once it has settled. */
interface Run<T> {
  promise: Promise<T>;
  /** When the run settled (`performance.now()`); undefined while it is in flight. */
  settledAt?: number;
  /** Whether its holder still wants it joinable once it has settled (until `reuseUntil` settles). */
  held: boolean;
}

/**
 * Shares one run of an evaluation among callers with the same key: while a run for a key is in flight (or held
 * for reuse), asking again joins it instead of starting another.
 *
 * A held run is let go as soon as its holder's `reuseUntil` settles. The run keeps no reference to its holder (a
 * request and its response, say): it holds only its own answer, so the holder's objects die as young as they
 * would without it.
 */
export class Coalescer<T> {
  private readonly runs = new Map<string, Run<T>>();
  private lastSweepAt = performance.now();

  /** @param maxHoldMs How long a held run may be joined after it settled, however long its holder holds it. */
  constructor(private readonly maxHoldMs = Infinity) {}

  /** Whether no run is in flight or held: a caller can skip building the keys it would look up. */
  get idle(): boolean {
    return this.runs.size === 0;
  }

  /** The run for `key` if one is in flight, or held and settled less than `maxHoldMs` ago. */
  get(key: string): Promise<T> | undefined {
    // Nothing in flight: no lookup (a key built of parts is flattened, allocating, when looked up).
    if (this.runs.size === 0) return undefined;
    const run = this.runs.get(key);
    if (!run) return undefined;
    if (this.isJoinable(run, performance.now())) return run.promise;
    this.runs.delete(key);
    return undefined;
  }

  /**
   * The run for `key`, or a new one from `start`, kept for joiners until it settles, and after that until
   * `reuseUntil` settles (for at most `maxHoldMs`).
   */
  run(key: string, start: () => Promise<T>, reuseUntil?: PromiseLike<unknown>): Promise<T> {
    const running = this.get(key);
    if (running) return running;
    this.sweepNowAndThen();
    const run: Run<T> = { promise: start(), held: reuseUntil !== undefined };
    this.runs.set(key, run);
    const settle = () => {
      run.settledAt = performance.now();
      if (!run.held) this.letGo(key, run);
    };
    run.promise.then(settle, settle);
    if (reuseUntil) {
      const release = () => {
        run.held = false;
        if (run.settledAt !== undefined) this.letGo(key, run);
      };
      reuseUntil.then(release, release);
    }
    return run.promise;
  }

  private letGo(key: string, run: Run<T>): void {
    if (this.runs.get(key) === run) this.runs.delete(key);
  }

  /** In flight, or held and settled less than `maxHoldMs` ago (runs no one holds are let go when they settle). */
  private isJoinable(run: Run<T>, now: number): boolean {
    return run.settledAt === undefined || now - run.settledAt < this.maxHoldMs;
  }

  /** Lets go of the held runs past `maxHoldMs`, at most every {@link SWEEP_INTERVAL_MS}. */
  private sweepNowAndThen(): void {
    const now = performance.now();
    if (now - this.lastSweepAt < SWEEP_INTERVAL_MS) return;
    this.lastSweepAt = now;
    for (const [key, run] of this.runs) if (!this.isJoinable(run, now)) this.runs.delete(key);
  }
}
