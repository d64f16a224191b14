import type { EvaluatedFlag } from '../flags.types.js';
import type { SharedDefinitions } from '../local/shared-definitions.js';
import type { MemoryCacheConfig } from './cache-config.js';
import type { DefinitionsHome } from './definitions-home.js';
import type { CachedFlags, FlagCache } from './flag-cache.js';
import { FlagsSnapshot, type SnapshotSettings } from './flags-snapshot.js';
import { MemoryFlagCache } from './memory-flag-cache.js';

/**
 * `memory://…?snapshot=<path>`: the memory cache, started from the snapshot file's answers, whose definitions
 * (polled by this process) and answers are written to that file, so that a restart while PostHog is down answers
 * from them at once.
 */
export class SnapshotFlagCache implements FlagCache {
  readonly backend = 'memory';
  readonly connected = true;

  private constructor(
    private readonly memory: MemoryFlagCache,
    private readonly snapshot: FlagsSnapshot,
    private readonly settings: SnapshotSettings,
    private readonly restored: SharedDefinitions | undefined,
  ) {}

  /** The cache with what the file holds for the project of `fingerprint` (nothing when it is unusable). */
  static async open(
    config: MemoryCacheConfig & { snapshot: SnapshotSettings },
    fingerprint: string,
  ): Promise<SnapshotFlagCache> {
    const memory = new MemoryFlagCache(config);
    const snapshot = new FlagsSnapshot(config.snapshot, fingerprint, () => memory.entries());
    const { definitions, answers } = await snapshot.restore();
    for (let index = answers.length - 1; index >= 0; index--) memory.restore(...answers[index]!);
    return new SnapshotFlagCache(memory, snapshot, config.snapshot, definitions);
  }

  read(distinctId: string, keys?: readonly string[]): CachedFlags {
    return this.memory.read(distinctId, keys);
  }

  async write(
    distinctId: string,
    flags: readonly EvaluatedFlag[],
    whole: boolean,
    context: string,
    answered?: readonly string[],
  ): Promise<void> {
    await this.memory.write(distinctId, flags, whole, context, answered);
    this.snapshot.changed();
  }

  readRemoteConfig(flagKey: string): string | undefined {
    return this.memory.readRemoteConfig(flagKey);
  }

  writeRemoteConfig(flagKey: string, stored: string): Promise<void> {
    return this.memory.writeRemoteConfig(flagKey, stored);
  }

  /** The snapshot file: the process polls PostHog itself and hands it every poll's definitions. */
  get definitionsHome(): DefinitionsHome {
    return { kind: 'snapshot', snapshot: this.snapshot, path: this.settings.path, restored: this.restored };
  }

  /** Writes the snapshot a last time. */
  async close(): Promise<void> {
    await this.snapshot.close();
  }
}
