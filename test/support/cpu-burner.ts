import { Worker } from 'node:worker_threads';

/** The longest a burner thread spins, should {@link CpuBurner.stop} never be called. */
const MAX_BURN_MS = 120_000;

/**
 * Threads that keep CPU cores busy, as a loaded host does, until {@link stop} (at most two minutes): for tests of
 * races that a busy host widens.
 */
export class CpuBurner {
  private constructor(private readonly workers: Worker[]) {}

  /** Starts `threads` threads, each spinning. */
  static start(threads: number): CpuBurner {
    const spin = `const end = performance.now() + ${MAX_BURN_MS}; while (performance.now() < end) {}`;
    return new CpuBurner(Array.from({ length: threads }, () => new Worker(spin, { eval: true })));
  }

  /** Stops every thread and waits for it to exit. */
  async stop(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
