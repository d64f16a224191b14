import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Headers, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ErrorCode, OpenFeature, type EvaluationContext } from '@openfeature/server-sdk';
import request from 'supertest';
import { FlagsModule, FlagsService, type FlagsModuleOptions } from '../src/index.js';
import { PostHogFlagsProvider } from '../src/openfeature/index.js';
import { CaptureLogger } from './support/capture-logger.js';
import { standardDefinitions } from './support/definitions.js';
import { eventually } from './support/eventually.js';
import { STANDARD_FLAGS } from './support/fake-posthog.js';
import { TEST_API_KEY } from './support/flags-app.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';

/** The OpenFeature domain the probe route resolves in. */
const PROBE_DOMAIN = 'answers-probe';

/** A route that evaluates every flag for the user (the request's one evaluation), then reads `beta` from it. */
@Controller()
class ProbeController {
  constructor(private readonly flags: FlagsService) {}

  @Get('probe')
  async probe(@Headers('x-user') user: string) {
    await this.flags.evaluateFlags(user);
    const beta = await this.flags.evaluateFlags(user, { flagKeys: ['beta'] });
    const client = OpenFeature.getClient(PROBE_DOMAIN);
    const details = await client.getBooleanDetails('beta', false, { targetingKey: user });
    return { unresolved: beta.unresolvedFlags, details };
  }
}

/** Issue 37, item 8: an unanswered flag is not a missing flag. */
describe('PostHogFlagsProvider: what it says when it has no value', () => {
  const fake = useFakePostHog();
  const started = useStartedFlags(fake);
  let domains = 0;

  afterEach(() => OpenFeature.clearProviders());

  /** The module started with a new provider bound to it, and an OpenFeature client of a domain of its own. */
  async function startWithClient(options: FlagsModuleOptions = {}, local = false) {
    const provider = new PostHogFlagsProvider();
    const harness = local
      ? await started.startLocal(standardDefinitions(), { ...options, openFeature: provider })
      : await started.start({ ...options, openFeature: provider });
    const domain = `answers-${++domains}`;
    await OpenFeature.setProviderAndWait(domain, provider);
    return { ...harness, client: OpenFeature.getClient(domain) };
  }

  const user = (targetingKey: string): EvaluationContext => ({ targetingKey });

  it('a flag PostHog named and failed to compute (failed: true), nothing cached: GENERAL, saying so', async () => {
    fake.setFlags({ ...STANDARD_FLAGS, beta: { enabled: true, failed: true } });
    const { client, flags } = await startWithClient();
    const details = await client.getBooleanDetails('beta', false, user('never-seen'));
    expect(details).toMatchObject({ value: false, reason: 'ERROR', errorCode: ErrorCode.GENERAL });
    expect(details.errorMessage).toBe(
      'PostHog did not answer flag "beta" for this context (it failed to compute it, or its answer was ' +
        'incomplete) and no last known value of "beta" is cached for this user',
    );
    expect(flags.status().upstream).toBe('ok');
    // A flag PostHog answered without naming is still not found.
    expect(await client.getBooleanDetails('nowhere', false, user('never-seen'))).toMatchObject({
      errorCode: ErrorCode.FLAG_NOT_FOUND,
    });
  });

  it('in an evaluation of every flag too, the failed flag is unavailable, not absent', async () => {
    fake.setFlags({ ...STANDARD_FLAGS, beta: { enabled: true, failed: true } });
    const { flags } = await started.start();
    const snapshot = await flags.evaluateFlags('never-seen');
    expect(snapshot.unresolvedFlags).toEqual({ beta: 'unavailable' });
    expect(snapshot.keys.sort()).toEqual(['checkout', 'dark-mode']);
  });

  it('a flag local evaluation could not decide (onlyLocal): GENERAL, naming the reason', async () => {
    const { client } = await startWithClient({ localEvaluation: { pollIntervalMs: 1000, onlyLocal: true } }, true);
    const details = await client.getBooleanDetails('continuity', false, user('never-seen'));
    expect(details).toMatchObject({ value: false, reason: 'ERROR', errorCode: ErrorCode.GENERAL });
    expect(details.errorMessage).toMatch(
      /^local evaluation could not decide flag "continuity" \(experience_continuity\) and PostHog did not answer it/,
    );
  });

  it('an evaluation cut by shutdown: PROVIDER_NOT_READY, saying the application is shutting down', async () => {
    const { client, moduleRef } = await startWithClient();
    started.harnesses.splice(0);
    fake.answer = 'hang';
    const resolving = client.getBooleanDetails('beta', false, user('never-seen'));
    await eventually(() => fake.pending > 0, 'the call to hang');
    await moduleRef.close();
    const details = await resolving;
    expect(details).toMatchObject({ value: false, reason: 'ERROR', errorCode: ErrorCode.PROVIDER_NOT_READY });
    expect(details.errorMessage).toBe(
      'the application is shutting down: PostHog was not asked for "beta" or the call was ended, and no last ' +
        'known value of "beta" is cached for this user',
    );
  });

  it("inside a request, a flag PostHog's incomplete answer left out is unavailable in the request's evaluation", async () => {
    const checkout = { key: 'checkout', enabled: true, variant: 'test', reason: { code: 'condition_match' } };
    const darkMode = { key: 'dark-mode', enabled: false, reason: { code: 'no_condition_match' } };
    fake.answer = (response) =>
      response.end(JSON.stringify({ flags: { checkout, 'dark-mode': darkMode }, errorsWhileComputingFlags: true }));
    const provider = new PostHogFlagsProvider();
    const moduleRef = await Test.createTestingModule({
      imports: [FlagsModule.forRoot({ apiKey: TEST_API_KEY, host: fake.url, retries: 0, openFeature: provider })],
      controllers: [ProbeController],
    })
      .setLogger(new CaptureLogger())
      .compile();
    const app: INestApplication = moduleRef.createNestApplication();
    await app.init();
    try {
      await OpenFeature.setProviderAndWait(PROBE_DOMAIN, provider);
      const before = fake.requests.length;
      const { body } = await request(app.getHttpServer()).get('/probe').set('x-user', 'never-seen').expect(200);
      expect(body.unresolved).toEqual({ beta: 'unavailable' });
      expect(body.details).toMatchObject({ value: false, reason: 'ERROR', errorCode: ErrorCode.GENERAL });
      expect(body.details.errorMessage).toMatch(/^PostHog did not answer flag "beta" for this context/);
      expect(fake.requests.length - before).toBe(1); // the request's one evaluation answered all three reads
    } finally {
      await app.close();
    }
  });
});
