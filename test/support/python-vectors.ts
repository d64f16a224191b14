import { readFileSync } from 'node:fs';
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

/** Entries posthog-python 7.x wrote to a real Redis, kept in the repository (`test/fixtures/`). */
const VECTORS = fileURLToPath(new URL('../fixtures/python-redis-entries.json', import.meta.url));

/** The Python-written entries of `test/fixtures/python-redis-entries.json`. */
export function pythonVectors(): { entries: PythonVector[] } {
  return JSON.parse(readFileSync(VECTORS, 'utf8')) as { entries: PythonVector[] };
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
    evaluatedAt: new Date((JSON.parse(vector.value) as { timestamp: number }).timestamp * 1000),
  };
}
