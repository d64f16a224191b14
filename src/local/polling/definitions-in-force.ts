import type { DefinitionsStatus } from '../../monitor/flags-events.js';
import type { LeanExposures } from '../../exposures/lean-exposures.js';
import type { FlagsMonitor } from '../../monitor/flags-monitor.js';
import { changedFlags } from './definitions-changes.js';
import { indexDefinitions, type Definitions, type FlagDefinitionsData } from '../definitions.js';
import { ReadinessWaiters } from './readiness-waiters.js';

/** Where definitions in force were read: PostHog, the shared Redis key, or a `definitionsStore`. */
export type DefinitionsSource = Exclude<DefinitionsStatus['source'], 'none'>;

/**
 * The flag definitions local evaluation uses now, replaced whole (an evaluation sees the old set or the new one,
 * never a mix), where they came from and when; ready once they define a flag (posthog-node's test), which wakes
 * whoever waits for it.
 */
export class DefinitionsInForce {
  private current?: Definitions;
  private installed?: FlagDefinitionsData;
  private from: DefinitionsStatus['source'] = 'none';
  private loaded?: Date;
  private readonly waiters = new ReadinessWaiters();

  constructor(
    private readonly monitor: FlagsMonitor,
    private readonly lean: LeanExposures,
    private readonly evaluationContexts: readonly string[],
  ) {}

  /** The definitions evaluated with; `undefined` when none define a flag. */
  get definitions(): Definitions | undefined {
    return this.current;
  }

  /** The data last put in force, also when it held no flag (a `402`); `undefined` before any. */
  get data(): FlagDefinitionsData | undefined {
    return this.installed;
  }

  /** How many flags the definitions in force define. */
  get flags(): number {
    return this.current?.data.flags.length ?? 0;
  }

  /** When they were last loaded or confirmed unchanged. */
  get loadedAt(): Date | undefined {
    return this.loaded;
  }

  /** Where they came from; `none` when none define a flag (a set whose flags are all left out still came from somewhere). */
  get source(): DefinitionsStatus['source'] {
    return this.from;
  }

  /** Whether definitions with at least one flag are in force. */
  get ready(): boolean {
    return this.current !== undefined;
  }

  /** Puts `data` in force at once, whole; tells the monitor which flags changed, and the waiters when ready. */
  install(data: FlagDefinitionsData, source: DefinitionsSource): void {
    const flagsChanged = changedFlags(this.installed, data);
    this.installed = data;
    const indexed = indexDefinitions(data, this.evaluationContexts);
    // None kept for the evaluation contexts: every flag is asked of PostHog, as posthog-node does.
    this.current = indexed.byKey.size > 0 ? indexed : undefined;
    this.from = data.flags.length > 0 ? source : 'none';
    this.loaded = new Date();
    this.lean.set(data.minimal_flag_called_events === true);
    this.monitor.definitionsLoaded(source, data.flags.length, flagsChanged);
    if (this.current) this.waiters.ready();
  }

  /** The definitions in force were confirmed unchanged (a `304`, or the same shared value). */
  confirmed(): void {
    this.loaded = new Date();
  }

  /** Resolves `true` once ready (at once when it is), `false` after `timeoutMs` or at {@link close}. */
  waitUntilReady(timeoutMs: number): Promise<boolean> {
    return this.current ? Promise.resolve(true) : this.waiters.wait(timeoutMs);
  }

  /** What local evaluation evaluates with, in words (for log lines). */
  describe(): string {
    return this.current
      ? `evaluating with the ${this.flags} flag definitions loaded at ${this.loaded?.toISOString()}`
      : 'no definitions are loaded: flags are not evaluated locally until some load';
  }

  /** The application shuts down: whoever waits gets `false`. */
  close(): void {
    this.waiters.close();
  }
}
