import type { SharedRead } from '../sharing/definitions-store.js';

/**
 * What one load of the flag definitions did (`FlagsService.reloadFeatureFlags()`): `loaded`: new definitions are
 * in force; `unchanged`: PostHog (`304`) or the shared store said the same; `failed`: neither could be read and
 * the definitions loaded stay in force; `off`: local evaluation is off; `stopped`: the application is shutting down.
 */
export type ReloadOutcome = 'loaded' | 'unchanged' | 'failed' | 'off' | 'stopped';

/** What `FlagsService.reloadFeatureFlags()` did. */
export interface DefinitionsReload {
  /** What happened; see {@link ReloadOutcome}. */
  outcome: ReloadOutcome;
  /** Where the definitions were read: `upstream` (PostHog, by this instance) or `store` (the shared store). */
  from?: 'upstream' | 'store';
  /** Whether this call joined a load already under way (a poll, or another reload) instead of starting one. */
  joined: boolean;
  /** How many flags the definitions in force define afterwards. */
  flags: number;
  /** Why it failed (`failed` only): PostHog's failure reason, or what went wrong with the shared store. */
  reason?: string;
}

/** What a round of the poller did, kept as it goes: the last step to say something decides. */
export class RoundReport {
  private outcome: ReloadOutcome = 'unchanged';
  private from?: 'upstream' | 'store';
  private reason?: string;

  /** New definitions were put in force, read from `from`. */
  loaded(from: 'upstream' | 'store'): void {
    this.set('loaded', from);
  }

  /** `from` said the definitions in force are still the ones. */
  unchanged(from: 'upstream' | 'store'): void {
    this.set('unchanged', from);
  }

  /** `from` could not be read (or served nothing usable), for `reason`. */
  failed(from: 'upstream' | 'store', reason: string): void {
    this.set('failed', from);
    this.reason = reason;
  }

  /** What the shared store served, when it served no definitions: why this round read none from it. */
  storeRead(read: SharedRead): void {
    if (read.kind === 'missing') this.failed('store', 'the shared store holds no definitions');
    if (read.kind === 'foreign') this.failed('store', "the shared store holds another project's definitions");
    if (read.kind === 'unusable') this.failed('store', `the shared definitions are unusable (${read.problem})`);
  }

  /** The round's report, with the number of flags in force afterwards. */
  result(flags: number, stopped: boolean): DefinitionsReload {
    if (stopped) return { outcome: 'stopped', joined: false, flags };
    return {
      outcome: this.outcome,
      ...(this.from ? { from: this.from } : {}),
      joined: false,
      flags,
      ...(this.outcome === 'failed' && this.reason ? { reason: this.reason } : {}),
    };
  }

  private set(outcome: ReloadOutcome, from: 'upstream' | 'store'): void {
    this.outcome = outcome;
    this.from = from;
    this.reason = undefined;
  }
}
