import { describe, expect, it } from '@jest/globals';
import type { FlagCalled } from '../exposures/flag-called.js';
import type { FlagResult } from '../flags.types.js';
import { createSnapshot, joinSnapshots, narrowSnapshot } from './flag-evaluations.js';
import type { SnapshotHost } from './snapshot-host.js';

const evaluatedAt = new Date(5000);
const result = (key: string, enabled: boolean, source: FlagResult['source'] = 'remote'): FlagResult => ({
  key,
  enabled,
  source,
  evaluatedAt,
});

/** A host recording the `$feature_flag_error` of each exposure sent. */
function recordingHost() {
  const errors: Record<string, unknown> = {};
  const host: SnapshotHost = {
    sendsEvents: true,
    geoipDisabled: false,
    serverOnly: () => false,
    definitionsLoadedAt: () => undefined,
    definitionsStale: () => false,
    leanExposures: () => false,
    exposed: (_context, called: FlagCalled) => {
      errors[called.key] = called.properties().$feature_flag_error ?? null;
    },
    warn: () => {},
  };
  return { host, errors };
}

/** A snapshot asked `beta` and `gone` (unknown), joined to a later answer of every flag that says otherwise. */
function joined() {
  const { host, errors } = recordingHost();
  const context = { distinctId: 'u' };
  const first = createSnapshot({
    host,
    context,
    results: new Map([['beta', result('beta', true)]]),
    errors: { answer: ['errors_while_computing_flags'] },
  });
  first.isEnabled('beta');
  const later = createSnapshot({
    host,
    context,
    results: new Map([
      ['beta', result('beta', false)],
      ['gone', result('gone', true)],
      ['checkout', result('checkout', true)],
    ]),
    unresolved: { other: 'unavailable' },
    every: true,
    partial: true,
  });
  return { first, snapshot: joinSnapshots(first, new Set(['beta', 'gone']), later), errors };
}

describe('a joined snapshot (a request that asked for more flags)', () => {
  it('answers the keys the first answer was asked from it, known or not, and the rest from the later one', () => {
    const { snapshot } = joined();
    expect(snapshot.getFlag('beta')).toBe(true);
    expect(snapshot.getFlag('gone')).toBeUndefined();
    expect(snapshot.getFlag('checkout')).toBe(true);
    expect(snapshot.keys).toEqual(['beta', 'checkout']);
    expect([...snapshot.toMap().keys()]).toEqual(['beta', 'checkout']);
    expect(snapshot.unresolvedFlags).toEqual({ other: 'unavailable' });
  });

  it('shares the reads of the first answer, and says each answer’s own errors in exposures', () => {
    const { first, snapshot, errors } = joined();
    snapshot.getFlag('checkout');
    expect(snapshot.onlyAccessed().keys).toEqual(['beta', 'checkout']);
    expect(first.onlyAccessed().keys).toEqual(['beta']);
    snapshot.getFlag('gone');
    expect(errors).toEqual({
      beta: 'errors_while_computing_flags',
      checkout: null,
      gone: 'errors_while_computing_flags,flag_missing',
    });
  });

  it('calls a key the first answer was asked and lacks unknown, not unavailable, when narrowed', () => {
    const { snapshot } = joined();
    const narrowed = narrowSnapshot(snapshot, ['gone', 'missing'], undefined);
    expect(narrowed.unresolvedFlags).toEqual({ missing: 'unavailable' });
  });

  it("lists the first answer's keys in the order asked, and only those, when it holds more (a route's snapshot)", () => {
    const { host } = recordingHost();
    const context = { distinctId: 'u' };
    const wide = new Map(['other', 'checkout', 'beta'].map((key) => [key, result(key, true, 'local')]));
    const first = createSnapshot({ host, context, results: wide });
    const later = createSnapshot({ host, context, results: new Map([['more', result('more', false)]]), every: true });
    const snapshot = joinSnapshots(first, new Set(['beta', 'checkout', 'gone']), later);
    expect(snapshot.keys).toEqual(['beta', 'checkout', 'more']);
    expect([...snapshot.toMap().keys()]).toEqual(['beta', 'checkout', 'more']);
    expect(snapshot.getFlag('other')).toBeUndefined();
  });
});
