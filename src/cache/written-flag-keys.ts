/** What to send to the flag-keys value: nothing, the keys to add, or (`replace`) all it holds. */
export type FlagKeysUpdate = { replace: boolean; keys: readonly string[] } | undefined;

/**
 * What this instance last wrote to the shared flag-keys value (what "every flag" means during an outage): the value is
 * written when what it should hold changes, or when its expiry is half-way (a monotonic clock, `now`). Forgetting is
 * always safe: the next write sends the value again.
 */
export class WrittenFlagKeys {
  /** The keys written, when the value was last replaced or added to; undefined: not known to be written. */
  private written?: Set<string>;
  /** Whether the value holds exactly {@link written} (it was replaced), not more (another writer's keys). */
  private exact = false;
  private refreshAt = 0;

  constructor(
    private readonly refreshAfterMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * The update the value needs after an answer naming `keys`: with `whole`, they are every flag of the project and
   * replace what it holds; else those not written yet are added. Counts as written from now on: {@link forget} when
   * writing it fails.
   */
  update(keys: readonly string[], whole: boolean): FlagKeysUpdate {
    if (keys.length === 0) return undefined;
    const now = this.now();
    const written = now < this.refreshAt ? this.written : undefined;
    if (whole) {
      if (this.exact && written?.size === keys.length && keys.every((key) => written.has(key))) return undefined;
      this.remember(new Set(keys), now, true);
      return { replace: true, keys };
    }
    if (written) {
      const added = keys.filter((key) => !written.has(key));
      if (added.length === 0) return undefined;
      for (const key of added) written.add(key);
      return { replace: false, keys: added };
    }
    this.remember(new Set(keys), now, false);
    return { replace: false, keys };
  }

  /**
   * Every flag of the project as this instance last wrote it (from a whole evaluation, while it is young enough to
   * be trusted); `undefined` when not known.
   */
  projectKeys(): ReadonlySet<string> | undefined {
    return this.exact && this.now() < this.refreshAt ? this.written : undefined;
  }

  /** Forgets what was written: the next answer writes the value. */
  forget(): void {
    this.written = undefined;
    this.refreshAt = 0;
  }

  private remember(keys: Set<string>, now: number, exact: boolean): void {
    this.written = keys;
    this.exact = exact;
    this.refreshAt = now + this.refreshAfterMs;
  }
}
