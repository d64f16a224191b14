import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EvaluatedFlag } from '../../src/index.js';

/** One entry posthog-python wrote to a real Redis. */
export interface PythonVector {
  distinct_id: string;
  flag_key: string;
  redis_key: string;
  redis_ttl_seconds: number;
  value: string;
  meaning: { key: string; enabled: boolean; variant: string | null; payload: unknown; reason: string | null };
}

const VECTORS = fileURLToPath(new URL('../../../shared/vectors/python-redis-entries.json', import.meta.url));

/** The shared vectors (`../shared/vectors/`, beside the repository, as in CI). */
export function pythonVectors(): { entries: PythonVector[] } {
  if (!existsSync(VECTORS)) throw new Error(`the shared Python vectors are missing: expected ${VECTORS}`);
  return JSON.parse(readFileSync(VECTORS, 'utf8'));
}

/** What a vector means as this module reports it: null fields absent, the timestamp as `evaluatedAt`. */
export function meaningAsFlag(vector: PythonVector): EvaluatedFlag {
  const { key, enabled, variant, payload, reason } = vector.meaning;
  return {
    key,
    enabled,
    ...(variant === null ? {} : { variant }),
    ...(payload === null ? {} : { payload }),
    ...(reason === null ? {} : { reason }),
    evaluatedAt: new Date(JSON.parse(vector.value).timestamp * 1000),
  };
}
