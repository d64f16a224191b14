import 'reflect-metadata';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { ErrorCode, OpenFeature } from '@openfeature/server-sdk';
import { Test } from '@nestjs/testing';
import { PostHogFlagsProvider } from '../src/openfeature/index.js';
import { FlagsTestingModule } from '../src/testing/index.js';
import { CaptureLogger } from './support/capture-logger.js';

/** The testing module over `beta: true`, started with these options and logging to `logs`. */
async function startTesting(options: Parameters<typeof FlagsTestingModule.forRoot>[1], logs = new CaptureLogger()) {
  const moduleRef = await Test.createTestingModule({ imports: [FlagsTestingModule.forRoot({ beta: true }, options)] })
    .setLogger(logs)
    .compile();
  await moduleRef.init();
  return moduleRef;
}

describe('PostHogFlagsProvider with FlagsTestingModule', () => {
  afterEach(async () => {
    jest.restoreAllMocks();
    await OpenFeature.clearProviders();
  });

  it("binds the provider given as its openFeature option: OpenFeature resolves the testing module's values", async () => {
    const provider = new PostHogFlagsProvider();
    const moduleRef = await startTesting({ openFeature: provider });
    await OpenFeature.setProviderAndWait('testing-bound', provider);
    const client = OpenFeature.getClient('testing-bound');
    expect(await client.getBooleanDetails('beta', false, { targetingKey: 'u1' })).toMatchObject({
      value: true,
      reason: 'STATIC',
      flagMetadata: expect.objectContaining({ source: 'override' }),
    });
    await moduleRef.close();
    expect(await provider.resolveBooleanEvaluation('beta', false, { targetingKey: 'u1' })).toMatchObject({
      errorCode: ErrorCode.PROVIDER_NOT_READY,
    });
  });

  it('left unbound: PROVIDER_NOT_READY naming both modules; at close one warning line, nothing on console.error', async () => {
    const consoleError = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const logs = new CaptureLogger();
    const provider = new PostHogFlagsProvider();
    const moduleRef = await startTesting({}, logs);
    // As the OpenFeature Nest SDK does at startup: set, not awaited.
    OpenFeature.setProvider('testing-unbound', provider);
    const details = await OpenFeature.getClient('testing-unbound').getBooleanDetails('beta', false, {
      targetingKey: 'u1',
    });
    expect(details).toMatchObject({ value: false, errorCode: ErrorCode.PROVIDER_NOT_READY });
    expect(await provider.resolveBooleanEvaluation('beta', false, { targetingKey: 'u1' })).toMatchObject({
      errorCode: ErrorCode.PROVIDER_NOT_READY,
      errorMessage: expect.stringContaining('FlagsTestingModule.forRoot(values, { openFeature })'),
    });

    await moduleRef.close();
    // As the Nest SDK does at shutdown.
    await OpenFeature.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(consoleError).not.toHaveBeenCalled();
    expect(logs.at('warn')).toEqual([expect.stringMatching(/^PostHogFlagsProvider closed before it was bound/)]);
    expect(logs.at('warn')[0]).not.toContain('\n');
    expect(logs.at('error')).toEqual([]);
  });
});
