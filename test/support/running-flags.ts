import type { TestingModule } from '@nestjs/testing';
import type { FlagsHarness } from './flags-app.js';

/** The modules a test started, to close after it: its `afterEach` calls {@link RunningFlags.closeAll}. */
export class RunningFlags {
  private running: FlagsHarness[] = [];

  /** Keeps a started module, to close it after the test. */
  add(harness: FlagsHarness): FlagsHarness {
    this.running.push(harness);
    return harness;
  }

  /** Closes a module during the test: it is not closed again after it. */
  async close(moduleRef: TestingModule): Promise<void> {
    await moduleRef.close();
    this.running = this.running.filter((harness) => harness.moduleRef !== moduleRef);
  }

  /** Closes every module still running, in the order they were started. */
  async closeAll(): Promise<void> {
    for (const harness of this.running) await harness.moduleRef.close();
    this.running = [];
  }
}
