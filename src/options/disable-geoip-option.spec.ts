import { describe, expect, it } from '@jest/globals';
import { FlagsConfigError } from '../config/flags-config-error.js';
import { resolveFlagsOptions } from './resolve-flags-options.js';

const API_KEY = 'phc_test';

describe('resolveFlagsOptions: disableGeoip', () => {
  it("defaults to true, as posthog-node's server default", () => {
    expect(resolveFlagsOptions({ apiKey: API_KEY }, {}).disableGeoip).toBe(true);
  });

  it.each([true, false])('takes %s', (disableGeoip) => {
    expect(resolveFlagsOptions({ apiKey: API_KEY, disableGeoip }, {}).disableGeoip).toBe(disableGeoip);
  });

  it('fails at startup on anything but a boolean, naming the option', () => {
    const options = { apiKey: API_KEY, disableGeoip: 'false' as unknown as boolean };
    expect(() => resolveFlagsOptions(options, {})).toThrow(FlagsConfigError);
    expect(() => resolveFlagsOptions(options, {})).toThrow('disableGeoip must be a boolean, got a string');
  });
});
