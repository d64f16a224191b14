import { describe, expect, it } from '@jest/globals';
import { indexDefinitions, parseDefinitions, type FlagDefinition } from './definitions.js';

/** A flag with these fields besides its key. */
const flag = (key: string, fields: Record<string, unknown> = {}): FlagDefinition => ({ key, active: true, ...fields });

describe('definitions under evaluation contexts', () => {
  it('keep every flag when no context is configured', () => {
    const data = parseDefinitions({ flags: [flag('a', { evaluation_contexts: ['web'] }), flag('b')] });
    const definitions = indexDefinitions(data);
    expect([...definitions.byKey.keys()]).toEqual(['a', 'b']);
    expect(definitions.filteredOut.size).toBe(0);
  });

  it('read odd contexts as PostHog could not mean them: not an array is none, a tag not a string counts for nothing', () => {
    const flags = [
      flag('string', { evaluation_contexts: 'api' }),
      flag('object', { evaluation_contexts: { api: true } }),
      flag('numbers', { evaluation_contexts: [1, null, {}] }),
      flag('mixed', { evaluation_contexts: [7, 'api'] }),
      flag('null-new-name', { evaluation_contexts: null, evaluation_tags: ['web'] }),
      flag('__proto__', { evaluation_contexts: ['constructor'] }),
    ];
    const definitions = indexDefinitions(parseDefinitions({ flags }), ['api', 'toString']);
    expect([...definitions.byKey.keys()]).toEqual(['string', 'object', 'mixed']);
    expect([...definitions.filteredOut]).toEqual(['numbers', 'null-new-name', '__proto__']);
  });

  it('keep the lean gate of the body, its camel-case name read when the snake-case one is absent', () => {
    expect(parseDefinitions({ flags: [], minimal_flag_called_events: true }).minimal_flag_called_events).toBe(true);
    expect(parseDefinitions({ flags: [], minimalFlagCalledEvents: true }).minimal_flag_called_events).toBe(true);
    const both = { flags: [], minimal_flag_called_events: false, minimalFlagCalledEvents: true };
    expect(parseDefinitions(both)).not.toHaveProperty('minimal_flag_called_events');
    expect(parseDefinitions({ flags: [], minimal_flag_called_events: 'true' })).not.toHaveProperty(
      'minimal_flag_called_events',
    );
  });
});
