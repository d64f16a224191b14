import type { DefinitionsSnapshot } from '../../cache/definitions-home.js';
import type { FlagDefinitionsData } from '../definitions.js';
import type { DefinitionsStore, KeepOutcome, LockRole, SharedRead } from './definitions-store.js';
import type { SharedDefinitions } from '../shared-definitions.js';

/**
 * `memory://…?snapshot=<path>`: the process polls PostHog itself, starts from the definitions the snapshot file
 * held (with their poll time: staleness as usual), and hands every poll's definitions to the snapshot.
 */
export class SnapshotDefinitionsStore implements DefinitionsStore {
  readonly source = 'snapshot';
  readonly description: string;

  constructor(
    private readonly snapshot: DefinitionsSnapshot,
    path: string,
    private readonly restored: SharedDefinitions | undefined,
  ) {
    this.description = `the flags snapshot ${path}`;
  }

  shouldPoll(): Promise<LockRole> {
    return Promise.resolve('poller');
  }

  load(): Promise<SharedRead> {
    const { restored } = this;
    if (!restored) return Promise.resolve({ kind: 'missing', lockHeld: false });
    const polledAt = restored.stamp?.polledAt;
    return Promise.resolve({
      kind: 'definitions',
      shared: restored,
      ...(polledAt === undefined ? {} : { polledAt }),
      lockHeld: false,
    });
  }

  keep(data: FlagDefinitionsData, stamp: { polledAt: number; etag?: string }): Promise<KeepOutcome> {
    this.snapshot.setDefinitions(data, stamp);
    return Promise.resolve({ kind: 'kept' });
  }

  release(): Promise<void> {
    return Promise.resolve();
  }
}
