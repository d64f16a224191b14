import { describe, expect, it } from '@jest/globals';
import { decodeRemoteConfigEntry, encodeRemoteConfigEntry } from './remote-config-entry.js';

const NOW = Date.UTC(2026, 0, 1);
const TTL_SECONDS = 3600;
const MAX = 10_000;

describe('remote config entries', () => {
  it('round-trips a payload (any JSON value) and a "no payload" answer, each for its own key only', () => {
    for (const payload of [{ a: [1, { b: null }] }, 'text', 0, null, false]) {
      const stored = encodeRemoteConfigEntry('k', { payload, savedAt: NOW }, MAX)!;
      expect(decodeRemoteConfigEntry(stored, 'k', TTL_SECONDS, MAX, NOW)).toEqual({ payload, savedAt: NOW });
      expect(decodeRemoteConfigEntry(stored, 'other', TTL_SECONDS, MAX, NOW)).toBeUndefined();
    }
    const none = encodeRemoteConfigEntry('k', { savedAt: NOW }, MAX)!;
    expect(JSON.parse(none)).toEqual({ remote_config_key: 'k', saved_at: NOW / 1000 });
    expect(decodeRemoteConfigEntry(none, 'k', TTL_SECONDS, MAX, NOW)).toEqual({ savedAt: NOW });
  });

  it('carries none of the fields posthog-python reads or matches (flag_result, flag_version)', () => {
    const stored = JSON.parse(encodeRemoteConfigEntry('k', { payload: 1, savedAt: NOW }, MAX)!);
    expect(Object.keys(stored).sort()).toEqual(['payload', 'remote_config_key', 'saved_at']);
  });

  it('a payload too long to keep is not encoded; a stored text too long, too old or malformed is a miss', () => {
    expect(encodeRemoteConfigEntry('k', { payload: 'x'.repeat(MAX), savedAt: NOW }, MAX)).toBeUndefined();
    const stored = encodeRemoteConfigEntry('k', { payload: 1, savedAt: NOW }, MAX)!;
    expect(decodeRemoteConfigEntry(stored, 'k', TTL_SECONDS, MAX, NOW + TTL_SECONDS * 1000)).toBeUndefined();
    expect(decodeRemoteConfigEntry(stored, 'k', TTL_SECONDS, stored.length - 1, NOW)).toBeUndefined();
    const malformed = [
      null,
      42,
      'not json',
      '[]',
      '{"remote_config_key":"k"}',
      '{"remote_config_key":"k","saved_at":"1"}',
      '{"__proto__":{"remote_config_key":"k","saved_at":1}}',
      JSON.stringify({ flag_result: { key: 'k' }, flag_version: -1, timestamp: NOW / 1000 }),
    ];
    for (const raw of malformed) expect(decodeRemoteConfigEntry(raw, 'k', TTL_SECONDS, MAX, NOW)).toBeUndefined();
  });
});
