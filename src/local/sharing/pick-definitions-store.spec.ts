import { describe, expect, it } from '@jest/globals';
import type { DefinitionsHome } from '../../cache/definitions-home.js';
import type { RedisConnection } from '../../cache/redis-connection.js';
import { IN_PROCESS_DEFINITIONS } from './definitions-store.js';
import type { FlagDefinitionsProvider } from './definitions-provider.js';
import { pickDefinitionsStore } from './pick-definitions-store.js';

const SETTINGS = { fingerprint: 'f1', lockTtlMs: 5_000 };

const provider: FlagDefinitionsProvider = {
  getFlagDefinitions: () => undefined,
  shouldFetchFlagDefinitions: () => true,
  onFlagDefinitionsReceived: () => {},
};

const redisHome: DefinitionsHome = {
  kind: 'redis',
  connection: {} as RedisConnection,
  prefix: 'posthog:',
  service: 'flags',
  maxBytes: 1_000,
};

const snapshotHome: DefinitionsHome = {
  kind: 'snapshot',
  snapshot: { setDefinitions: () => {} },
  path: '/tmp/flags.json',
  restored: undefined,
};

describe('pickDefinitionsStore', () => {
  it('takes the definitionsStore option over where the cache would keep them', () => {
    const store = pickDefinitionsStore(
      { definitionsStore: provider, timeoutMs: 100 },
      { definitionsHome: redisHome },
      SETTINGS,
    );
    expect([store.source, store.description]).toEqual(['store', 'the definitionsStore']);
  });

  it("opens the cache's home: its Redis key, or its snapshot file", () => {
    const redis = pickDefinitionsStore({ timeoutMs: 100 }, { definitionsHome: redisHome }, SETTINGS);
    expect([redis.source, redis.description]).toEqual([
      'redis',
      'key "posthog:flags" (prefix "posthog:", service "flags")',
    ]);
    const snapshot = pickDefinitionsStore({ timeoutMs: 100 }, { definitionsHome: snapshotHome }, SETTINGS);
    expect([snapshot.source, snapshot.description]).toEqual(['snapshot', 'the flags snapshot /tmp/flags.json']);
  });

  it('keeps them in the process when the cache has no home for them', () => {
    expect(pickDefinitionsStore({ timeoutMs: 100 }, {}, SETTINGS)).toBe(IN_PROCESS_DEFINITIONS);
  });
});
