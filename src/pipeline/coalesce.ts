/**
 * Shares one run of an evaluation among callers with the same key: while a run for a key is in flight (or held
 * for reuse), asking again joins it instead of starting another.
 */
export class Coalescer<T> {
  private readonly runs = new Map<string, Promise<T>>();

  /** The run for `key` if one is in flight or held. */
  get(key: string): Promise<T> | undefined {
    return this.runs.get(key);
  }

  /**
   * The run for `key`, or a new one from `start`, kept for joiners until it settles, and also until `holdUntil`
   * settles when given.
   */
  run(key: string, start: () => Promise<T>, holdUntil?: Promise<unknown>): Promise<T> {
    const running = this.runs.get(key);
    if (running) return running;
    const run = start();
    this.runs.set(key, run);
    const release = () => {
      if (this.runs.get(key) === run) this.runs.delete(key);
    };
    void Promise.allSettled([run, holdUntil]).then(release);
    return run;
  }
}
