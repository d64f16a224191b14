import { describe, expect, it } from '@jest/globals';
import type { FlagCalled } from '../exposures/flag-called.js';
import type { FlagContext, FlagResult } from '../flags.types.js';
import { createSnapshot, narrowSnapshot } from './flag-evaluations.js';
import type { SnapshotHost } from './snapshot-host.js';

/** A host that records what the snapshot sends and warns, deduplicating as the exposure queue does. */
function recordingHost(sendsEvents = true) {
  const sent: { key: string; properties: Record<string, unknown> }[] = [];
  const warnings: string[] = [];
  const reported = new Set<string>();
  const host: SnapshotHost = {
    sendsEvents,
    geoipDisabled: false,
    serverOnly: () => false,
    definitionsLoadedAt: () => 1234,
    definitionsStale: () => false,
    leanExposures: () => false,
    exposed: (context: FlagContext, called: FlagCalled) => {
      const key = `${context.distinctId}\n${called.key}\n${String(called.response)}`;
      if (reported.has(key)) return;
      reported.add(key);
      sent.push({ key: called.key, properties: called.properties() });
    },
    warn: (message) => warnings.push(message),
  };
  return { host, sent, warnings };
}

const evaluatedAt = new Date(5000);
const results = (): Map<string, FlagResult> =>
  new Map<string, FlagResult>([
    [
      'beta',
      { key: 'beta', enabled: true, payload: { color: 'blue', nested: { n: 1 } }, source: 'local', evaluatedAt },
    ],
    ['checkout', { key: 'checkout', enabled: true, variant: 'test', source: 'remote', requestId: 'r1', evaluatedAt }],
    ['off', { key: 'off', enabled: false, source: 'cache', evaluatedAt }],
  ]);

describe('FlagEvaluations', () => {
  it('freezes results and payloads, all the way down', () => {
    const snapshot = createSnapshot({
      host: recordingHost().host,
      context: { distinctId: 'u' },
      results: results(),
    });
    const payload = snapshot.getFlagPayload<{ nested: { n: number } }>('beta')!;
    expect(Object.isFrozen(payload.nested)).toBe(true);
    expect(() => {
      payload.nested.n = 2;
    }).toThrow(TypeError);
    expect(Object.isFrozen(snapshot.getFlagResult('checkout'))).toBe(true);
  });

  it('counts a read with events off as accessed, without sending it or marking it sent', () => {
    const { host, sent } = recordingHost();
    const snapshot = createSnapshot({ host, context: { distinctId: 'u' }, results: results() });
    expect(snapshot.getFlag('checkout', { sendFeatureFlagEvents: false })).toBe('test');
    expect(sent).toEqual([]);
    expect(snapshot.onlyAccessed().keys).toEqual(['checkout']);
    expect(snapshot.getFlag('checkout')).toBe('test');
    expect(sent.map((called) => called.key)).toEqual(['checkout']);
    expect(snapshot.getFlagPayload('beta')).toEqual({ color: 'blue', nested: { n: 1 } });
    expect(sent).toHaveLength(1);
  });

  it('sends nothing for an empty distinct id, and nothing for a key a slice does not hold', () => {
    const empty = recordingHost();
    createSnapshot({ host: empty.host, context: { distinctId: '' }, results: new Map() }).isEnabled('beta');
    expect(empty.sent).toEqual([]);
    const { host, sent, warnings } = recordingHost();
    const slice = createSnapshot({ host, context: { distinctId: 'u' }, results: results() }).only(['beta', 'nope']);
    expect(warnings).toEqual([expect.stringContaining('dropped: "nope"')]);
    expect(slice.keys).toEqual(['beta']);
    slice.isEnabled('off');
    expect(sent).toEqual([]);
  });

  it('only(): a list that is not an array is a TypeError; the warning names a few missing keys, quoted and cut', () => {
    const { host, warnings } = recordingHost();
    const snapshot = createSnapshot({ host, context: { distinctId: 'u' }, results: results() });
    expect(() => snapshot.only('beta' as unknown as string[])).toThrow(
      'FlagEvaluations.only: keys must be an array of flag keys, got a string',
    );
    const hostile = ['line\nbreak', 'x'.repeat(10_000), ...Array.from({ length: 10 }, (_, index) => `k${index}`)];
    expect(snapshot.only(['beta', ...hostile]).keys).toEqual(['beta']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('dropped: "line\\nbreak", "xxx');
    expect(warnings[0]).toContain('"k7" and 2 more');
    expect(warnings[0]).not.toContain('\n');
    expect(warnings[0]!.length).toBeLessThan(400);
  });

  it('reads with options given as null (untyped JavaScript) as with none', () => {
    const { host, sent } = recordingHost();
    const snapshot = createSnapshot({ host, context: { distinctId: 'u' }, results: results() });
    expect(snapshot.isEnabled('beta', null as never)).toBe(true);
    expect(snapshot.isEnabled('nope', null as never)).toBe(false);
    expect(snapshot.getFlag('checkout', null as never)).toBe('test');
    expect(snapshot.getFlagResult('off', null as never)?.enabled).toBe(false);
    expect(sent.map((event) => event.key)).toEqual(['beta', 'nope', 'checkout', 'off']);
  });

  it('gives event properties and bootstrap with a flag named __proto__ as a plain key', () => {
    const withProto = results();
    withProto.set('__proto__', { key: '__proto__', enabled: true, source: 'remote', evaluatedAt });
    const snapshot = createSnapshot({
      host: recordingHost().host,
      context: { distinctId: 'u' },
      results: withProto,
    });
    expect(snapshot.eventProperties()).toEqual({
      '$feature/beta': true,
      '$feature/checkout': 'test',
      '$feature/off': false,
      '$feature/__proto__': true,
      $active_feature_flags: ['__proto__', 'beta', 'checkout'],
    });
    const { featureFlags } = snapshot.bootstrap();
    expect(Object.getPrototypeOf(featureFlags)).toBe(Object.prototype);
    expect(Object.keys(featureFlags)).toContain('__proto__');
  });

  it('shares reads with a narrowed snapshot, whose unknown keys still send flag_missing', () => {
    const { host, sent } = recordingHost();
    const snapshot = createSnapshot({ host, context: { distinctId: 'u' }, results: results() });
    const narrowed = narrowSnapshot(snapshot, ['beta', 'nope'], undefined);
    narrowed.isEnabled('beta');
    narrowed.isEnabled('nope');
    expect(snapshot.onlyAccessed().keys).toEqual(['beta']);
    expect(sent.map((called) => [called.key, called.properties.$feature_flag_error])).toEqual([
      ['beta', undefined],
      ['nope', 'flag_missing'],
    ]);
    expect(sent[0]!.properties).toMatchObject({ locally_evaluated: true, $feature_flag_definitions_loaded_at: 1234 });
  });
});

describe('FlagEvaluations tells its host what is read (the fallback cache keeps it)', () => {
  function readingHost() {
    const reads: string[] = [];
    const everyReads: { keys: string[]; every: boolean }[] = [];
    const host: SnapshotHost = {
      ...recordingHost(false).host,
      flagRead: (_context, key) => reads.push(key),
      everyFlagRead: (_context, all, every) => everyReads.push({ keys: [...all.keys()], every }),
    };
    return { host, reads, everyReads };
  }

  it('tells each flag read once per snapshot (and its narrowed views), every payload read', () => {
    const { host, reads } = readingHost();
    const snapshot = createSnapshot({ host, context: { distinctId: 'u' }, results: results(), every: true });
    snapshot.isEnabled('beta');
    snapshot.getFlag('beta');
    snapshot.getFlagResult('beta');
    narrowSnapshot(snapshot, ['beta', 'checkout'], undefined).isEnabled('beta');
    snapshot.getFlag('unknown');
    snapshot.getFlagPayload('checkout');
    expect(reads).toEqual(['beta', 'unknown', 'checkout']);
  });

  it('tells a read of every flag, and whether the snapshot holds every flag of its evaluation', () => {
    const { host, everyReads } = readingHost();
    const snapshot = createSnapshot({ host, context: { distinctId: 'u' }, results: results(), every: true });
    snapshot.toMap();
    narrowSnapshot(snapshot, undefined, false).bootstrap();
    narrowSnapshot(snapshot, ['beta'], undefined).eventProperties();
    snapshot.only(['off']).eventProperties();
    expect(everyReads).toEqual([
      { keys: ['beta', 'checkout', 'off'], every: true },
      { keys: ['beta', 'checkout', 'off'], every: true },
      { keys: ['beta'], every: false },
      { keys: ['off'], every: false },
    ]);
  });

  it("asks the host whether a result's event was sent before building it: a repeated read builds nothing", () => {
    const { host } = recordingHost();
    const built: string[] = [];
    const asked: [string, string][] = [];
    const checking: SnapshotHost = {
      ...host,
      exposed: (_context, called) => built.push(called.key),
      exposureSent: (context, result) => (asked.push([context.distinctId, result.key]), result.key === 'beta'),
    };
    const snapshot = createSnapshot({ host: checking, context: { distinctId: 'u' }, results: results() });
    expect(snapshot.isEnabled('beta')).toBe(true);
    expect(snapshot.getFlag('checkout')).toBe('test');
    expect(snapshot.getFlag('missing')).toBeUndefined();
    expect(asked).toEqual([
      ['u', 'beta'],
      ['u', 'checkout'],
    ]);
    expect(built).toEqual(['checkout', 'missing']);
  });
});
