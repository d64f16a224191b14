import type { FlagDefinitionsData } from '../local/definitions.js';
import type { SharedDefinitions } from '../local/shared-definitions.js';
import type { RedisConnection } from './redis-connection.js';

/** The snapshot file's part that keeps definitions (`FlagsSnapshot`'s): every poll's are handed to it. */
export interface DefinitionsSnapshot {
  setDefinitions(data: FlagDefinitionsData, stamp: { polledAt: number; etag?: string }): void;
}

/**
 * Where a cache can keep local evaluation's flag definitions for other instances (or a restart): its Redis
 * connection and key names, or its snapshot file. The module opens the definitions store there
 * (`src/local/sharing`); the cache itself knows nothing of local evaluation.
 */
export type DefinitionsHome =
  | {
      kind: 'redis';
      /** The cache's connection: the definitions share it. */
      connection: RedisConnection;
      /** The cache's key prefix and service name: the key is `{prefix}{service}`. */
      prefix: string;
      service: string;
      /** The largest value read or written (bytes). */
      maxBytes: number;
    }
  | {
      kind: 'snapshot';
      snapshot: DefinitionsSnapshot;
      /** The snapshot file's path, for log lines. */
      path: string;
      /** The definitions the file held at startup, when usable. */
      restored: SharedDefinitions | undefined;
    };
