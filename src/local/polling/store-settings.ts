import type { ResolvedFlagsOptions } from '../../options/flags-options.js';
import { projectFingerprint } from '../shared-definitions.js';
import type { DefinitionsStoreSettings } from '../sharing/definitions-store.js';
import { lockTtlMs } from './poll-timing.js';

/** The poll interval: local evaluation's, else 30 s (the lock's TTL and the poll clock still need one). */
export function pollIntervalOf(config: Pick<ResolvedFlagsOptions, 'localEvaluation'>): number {
  return config.localEvaluation ? config.localEvaluation.pollIntervalMs : 30_000;
}

/** What the shared-definitions store needs of this instance: its project's fingerprint, the poller lock's TTL. */
export function definitionsStoreSettings(
  config: Pick<ResolvedFlagsOptions, 'apiKey' | 'localEvaluation'>,
): DefinitionsStoreSettings {
  return { fingerprint: projectFingerprint(config.apiKey), lockTtlMs: lockTtlMs(pollIntervalOf(config)) };
}
