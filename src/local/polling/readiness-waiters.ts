/** The longest wait for the definitions a caller may ask (a Node timer's limit). */
const MAX_WAIT_MS = 2 ** 31 - 1;

/**
 * Callers waiting for local evaluation to be ready (definitions with at least one flag in force): each gets `true`
 * when they arrive, `false` when its own timer fires first or the application shuts down. Every timer is cleared
 * when its wait ends.
 */
export class ReadinessWaiters {
  private readonly waiters = new Set<(ready: boolean) => void>();

  /** Resolves `true` at {@link ready}, `false` after `timeoutMs` or at {@link close}; never rejects. */
  wait(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (ready: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve(ready);
      };
      const timer = setTimeout(done, Math.min(Math.max(0, timeoutMs), MAX_WAIT_MS), false);
      this.waiters.add(done);
    });
  }

  /** Definitions are in force: every waiter gets `true`. */
  ready(): void {
    for (const done of [...this.waiters]) done(true);
  }

  /** The application shuts down: every waiter gets `false`. */
  close(): void {
    for (const done of [...this.waiters]) done(false);
  }
}
