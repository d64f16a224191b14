import 'reflect-metadata';
import { describe, expect, it, jest } from '@jest/globals';
import { Controller, Post, type ExecutionContext, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { FeatureFlag, FlagsModule, type FlagContext } from '../src/index.js';
import { CaptureLogger } from './support/capture-logger.js';
import { cohortChain } from './support/cohort-chain.js';
import { TEST_API_KEY } from './support/flags-app.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';
import { posthogNodeOracle } from './support/posthog-node-oracle.js';

/** A route behind `@FeatureFlag('beta')`, whose user's `prefs` person property comes from the request body. */
@Controller()
class PrefsController {
  @Post('beta')
  @FeatureFlag('beta')
  beta() {
    return { ok: true };
  }
}

/** `[[…[]…]]`, `depth` arrays deep, as JSON text. */
const nestedJson = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** Review of hardening II (bounded work per request, never a 500 for a flag reason): each finding as its behaviour now. */
describe('hardening review', () => {
  const fake = useFakePostHog();
  const started = useStartedFlags(fake);

  const { startLocal } = started;

  describe('cohorts naming cohorts: linear work, the same answers as posthog-node', () => {
    it('10 levels (cheap enough for posthog-node), each cohort naming the next twice', async () => {
      const { flags } = await startLocal(cohortChain(10));
      const posthog = posthogNodeOracle(fake.url, 'cohorts');
      const quiet = jest.spyOn(console, 'warn').mockImplementation(() => {});
      try {
        for (const plan of ['pro', 'free']) {
          const context = { distinctId: `u-${plan}`, personProperties: { plan } };
          const theirs = await posthog.getAllFlags(context.distinctId, {
            personProperties: context.personProperties,
            onlyEvaluateLocally: true,
          });
          expect(theirs).toEqual({ 'in-chain': plan === 'pro' });
          expect(await flags.getAllFlags(context)).toEqual(theirs);
        }
      } finally {
        await posthog.shutdown();
        quiet.mockRestore();
      }
    });
  });

  describe('a context nested deeper than 64 levels is invalid, wherever it comes from: never a 500', () => {
    it('from a request body through contextFactory: the guard answers as for an invalid context, and logs why', async () => {
      const logs = new CaptureLogger();
      const moduleRef = await Test.createTestingModule({
        imports: [
          FlagsModule.forRoot({
            apiKey: TEST_API_KEY,
            host: fake.url,
            retries: 0,
            contextFactory: (context: ExecutionContext): FlagContext => {
              const body = context.switchToHttp().getRequest<{ body?: { prefs?: unknown } }>().body;
              return { distinctId: 'u1', personProperties: { prefs: body?.prefs } };
            },
          }),
        ],
        controllers: [PrefsController],
      })
        .setLogger(logs)
        .compile();
      const app: INestApplication = moduleRef.createNestApplication({ logger: logs });
      await app.init();
      try {
        const post = (prefs: string) =>
          request(app.getHttpServer()).post('/beta').set('content-type', 'application/json').send(`{"prefs":${prefs}}`);
        // An 8 kB body: 4,000 levels (a RangeError from the call stack, a 500, before).
        const deep = await post(nestedJson(4000));
        expect(deep.status).toBe(404);
        expect(logs.at('error').some((line) => line.includes('nests more than 64 levels deep'))).toBe(true);
        expect((await post(nestedJson(64))).status).toBe(201);
      } finally {
        await app.close();
      }
    });

    it('getFlagResult and the other calls throw a TypeError naming the property', async () => {
      const { flags } = await started.start();
      const prefs: unknown = JSON.parse(nestedJson(4000));
      await expect(flags.getFlagResult('beta', { distinctId: 'u1', personProperties: { prefs } })).rejects.toThrow(
        new TypeError('FlagsService: context.personProperties["prefs"] nests more than 64 levels deep'),
      );
      await expect(
        flags.isEnabled('beta', {
          distinctId: 'u1',
          groups: { company: 'acme' },
          groupProperties: { company: { prefs: JSON.parse(nestedJson(65)) } },
        }),
      ).rejects.toThrow(TypeError);
      expect(
        await flags.getFlagResult('beta', {
          distinctId: 'u1',
          personProperties: { prefs: JSON.parse(nestedJson(64)) },
        }),
      ).toMatchObject({ enabled: true });
    });
  });
});
