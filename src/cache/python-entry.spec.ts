import { describe, expect, it } from '@jest/globals';
import { encodePythonEntry, decodePythonEntry, MAX_ENTRY_BYTES } from './python-entry.js';
import { meaningAsFlag, pythonVectors } from '../../test/support/python-vectors.js';

describe('the Python SDK entry format', () => {
  it.each(pythonVectors().entries)('reads what posthog-python wrote for $redis_key', (vector) => {
    expect(decodePythonEntry(vector.value, vector.flag_key)).toEqual(meaningAsFlag(vector));
  });

  it('writes every field the Python reader checks, with the timestamp in seconds', () => {
    const evaluatedAt = new Date('2026-11-24T10:00:00.250Z');
    const entry = JSON.parse(
      encodePythonEntry({ key: 'beta', enabled: true, variant: 'test', payload: { a: 1 }, reason: 'r', evaluatedAt }),
    );
    expect(entry).toEqual({
      flag_result: { key: 'beta', enabled: true, variant: 'test', payload: { a: 1 }, reason: 'r' },
      flag_version: -1,
      timestamp: 1795514400.25,
      flag_result_type: 'FeatureFlagResult',
      flag_result_schema_version: 1,
    });
    const bare = JSON.parse(encodePythonEntry({ key: 'off', enabled: false, evaluatedAt }));
    expect(bare.flag_result).toEqual({ key: 'off', enabled: false, variant: null, payload: null, reason: null });
  });

  it('writes and reads a payload of any depth (20,000 levels overflowed the call stack before)', () => {
    const depth = 20_000;
    const payload: unknown = JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);
    const flag = { key: 'deep', enabled: true, payload, evaluatedAt: new Date('2026-11-24T10:00:00Z') };
    const written = encodePythonEntry(flag);
    expect(written).toContain(`"payload":${'['.repeat(depth)}${']'.repeat(depth)},`);
    expect(decodePythonEntry(written, 'deep')?.payload).toBeDefined();
  });

  it('round-trips, with the context fingerprint as an extra top-level key', () => {
    const flag = { key: 'k', enabled: true, variant: 'v', payload: [1, 'x'], reason: 'why', evaluatedAt: new Date() };
    expect(decodePythonEntry(encodePythonEntry(flag), 'k')).toEqual(flag);
    const written = encodePythonEntry(flag, 'ctx');
    expect(JSON.parse(written)).toMatchObject({ context_hash: 'ctx', flag_result_schema_version: 1 });
    expect(decodePythonEntry(written, 'k')).toEqual({ ...flag, context: 'ctx' });
  });

  it('keeps the id and the version as extra top-level flag_id and posthog_flag_version', () => {
    const flag = { key: 'k', enabled: true, id: 7, version: 3, evaluatedAt: new Date() };
    const written = encodePythonEntry(flag, '');
    expect(JSON.parse(written)).toMatchObject({ flag_version: -1, flag_id: 7, posthog_flag_version: 3 });
    expect(decodePythonEntry(written, 'k')).toEqual({ ...flag, context: '' });
  });

  it('keeps whether an experiment uses the flag as an extra top-level has_experiment', () => {
    const flag = { key: 'k', enabled: true, hasExperiment: false, evaluatedAt: new Date() };
    const written = encodePythonEntry(flag, '');
    expect(JSON.parse(written)).toMatchObject({ has_experiment: false });
    expect(decodePythonEntry(written, 'k')).toEqual({ ...flag, context: '' });
    const odd = JSON.stringify({ ...JSON.parse(written), has_experiment: 'no' });
    expect(decodePythonEntry(odd, 'k')).not.toHaveProperty('hasExperiment');
  });

  const valid = JSON.parse(pythonVectors().entries[0].value);
  const variants: [string, unknown][] = [
    ['not JSON', 'pickle\x80\x04'],
    ['a JSON array', '[]'],
    ['another schema version', { ...valid, flag_result_schema_version: 2 }],
    ['another result type', { ...valid, flag_result_type: 'Other' }],
    ['no flag_version', { ...valid, flag_version: undefined }],
    ['a timestamp in a string', { ...valid, timestamp: '1795549581' }],
    ['an extra key in flag_result', { ...valid, flag_result: { ...valid.flag_result, extra: 1 } }],
    ['a missing key in flag_result', { ...valid, flag_result: { ...valid.flag_result, reason: undefined } }],
    ['enabled not a boolean', { ...valid, flag_result: { ...valid.flag_result, enabled: 'true' } }],
    ['another flag', { ...valid, flag_result: { ...valid.flag_result, key: 'other' } }],
    ['an oversized value', { ...valid, padding: 'x'.repeat(MAX_ENTRY_BYTES) }],
  ];

  it.each(variants)('treats %s as a miss', (_name, value) => {
    const raw = typeof value === 'string' ? value : JSON.stringify(value);
    expect(decodePythonEntry(raw, 'beta')).toBeUndefined();
  });

  it('accepts extra top-level keys, as the Python reader does', () => {
    expect(decodePythonEntry(JSON.stringify({ ...valid, written_by: 'someone' }), 'beta')?.enabled).toBe(true);
  });
});
