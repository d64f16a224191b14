import { createSnapshot, type FlagEvaluations } from './flag-evaluations.js';
import type { SnapshotHost } from './snapshot-host.js';

/** A host that sends and logs nothing: for a snapshot made where no module is at hand. */
export const SILENT_HOST: SnapshotHost = {
  sendsEvents: false,
  geoipDisabled: true,
  serverOnly: () => false,
  definitionsLoadedAt: () => undefined,
  definitionsStale: () => false,
  leanExposures: () => false,
  exposed: () => {},
  warn: () => {},
};

/** A snapshot of no flag, for no one: every read is unknown and sends nothing. */
export function emptySnapshot(): FlagEvaluations {
  return createSnapshot({ host: SILENT_HOST, context: { distinctId: '' }, results: new Map() });
}
