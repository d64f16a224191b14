/**
 * A timer of the client's own that aborts one exchange when it runs out, and passes an abort of the caller's
 * through: never `AbortSignal.timeout`/`AbortSignal.any`, whose combined signal loses its timeout to a garbage
 * collection on Node 20.
 */
export class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly onCallerAbort = () => this.controller.abort();
  /** Whether the timer ran out. */
  expired = false;

  constructor(
    ms: number,
    private readonly callerSignal?: AbortSignal,
  ) {
    this.timer = setTimeout(() => {
      this.expired = true;
      this.controller.abort();
    }, ms);
    if (callerSignal?.aborted) this.controller.abort();
    else callerSignal?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  /** The signal that aborts the exchange. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Stops the timer and lets go of the caller's signal. */
  clear(): void {
    clearTimeout(this.timer);
    this.callerSignal?.removeEventListener('abort', this.onCallerAbort);
  }
}
