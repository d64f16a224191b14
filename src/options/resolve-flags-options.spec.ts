import { describe, expect, it } from '@jest/globals';
import { FlagsConfigError } from '../config/flags-config-error.js';
import { resolveFlagsOptions } from './resolve-flags-options.js';

const API_KEY = 'phc_test';

/** The error `resolveFlagsOptions` throws for these options (none from the environment). */
function failureOf(options: Parameters<typeof resolveFlagsOptions>[0]): FlagsConfigError {
  try {
    resolveFlagsOptions(options, {});
  } catch (error) {
    expect(error).toBeInstanceOf(FlagsConfigError);
    return error as FlagsConfigError;
  }
  throw new Error('expected a FlagsConfigError');
}

describe('resolveFlagsOptions: keys and host that could never be sent', () => {
  it.each([
    ['a line break', 'phs_Zq9-value\r\n'],
    ['a NUL', 'phs_Zq9\u0000value'],
    ['a character beyond Latin-1', 'phs_Zq9\u2013value'],
    ['an emoji', 'phs_Zq9\u{1F600}'],
  ])('fails at startup on a secret key with %s, without printing it', (_, secretKey) => {
    const error = failureOf({ apiKey: API_KEY, secretKey });
    expect(error.message).toMatch(/secret key .* cannot be sent in an HTTP header/);
    expect(error.message).not.toContain('Zq9');
  });

  it('checks the secret key with local evaluation off too (remote config sends it), and keeps it', () => {
    const error = failureOf({ apiKey: API_KEY, secretKey: 'phs_Zq9\r\n', localEvaluation: false });
    expect(error.message).toMatch(/secret key .* cannot be sent in an HTTP header/);
    const resolved = resolveFlagsOptions({ apiKey: API_KEY, localEvaluation: false }, { POSTHOG_SECRET_KEY: 'phs_k' });
    expect(resolved).toMatchObject({ secretKey: 'phs_k', localEvaluation: false });
  });

  it('fails at startup on an API key with a control character, without printing it', () => {
    const error = failureOf({ apiKey: 'phc_private\tkey' });
    expect(error.message).toMatch(/API key .*control character.* at position 12/);
    expect(error.message).not.toContain('private');
  });

  it('takes Latin-1 keys as they are', () => {
    expect(
      resolveFlagsOptions({ apiKey: 'phc_abc-_.~', secretKey: 'phs_abc\u00e9' }, {}).localEvaluation,
    ).toMatchObject({
      secretKey: 'phs_abc\u00e9',
    });
  });

  it.each([
    ['https://admin:hunter2@eu.posthog.example', '"https://admin:***@eu.posthog.example"'],
    ['https://admin@eu.posthog.example', '"https://admin@eu.posthog.example"'],
  ])('fails at startup on a host with credentials (%s), the password masked', (host, shown) => {
    const error = failureOf({ apiKey: API_KEY, host });
    expect(error.message).toContain(shown);
    expect(error.message).toMatch(/user name or password/);
    expect(error.message).not.toContain('hunter2');
  });

  it('fails the same for POSTHOG_HOST', () => {
    expect(() => resolveFlagsOptions({ apiKey: API_KEY }, { POSTHOG_HOST: 'http://u:p4ss@localhost:8000' })).toThrow(
      /"http:\/\/u:\*\*\*@localhost:8000" holds a user name or password/,
    );
  });
});
