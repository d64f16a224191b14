import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { OpenFeature, type EvaluationContext } from '@openfeature/server-sdk';
import request from 'supertest';
import type { FlagContext } from '../src/index.js';
import { PostHogFlagsProvider } from '../src/openfeature/index.js';
import { CaptureLogger } from './support/capture-logger.js';
import { TEST_SECRET_KEY, standardDefinitions } from './support/definitions.js';
import { eventually } from './support/eventually.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';
import { startGuardedApp } from './support/guarded-app.js';

/** What a `toJSON` that throws says: it must never reach a log line. */
const SECRET = 'hunter2-session-secret';

/** A property value JSON cannot write: its `toJSON` throws (a disposed resource, a revoked handle...). */
const unwritable = () => ({
  toJSON(): never {
    throw new Error(`cannot serialize ${SECRET}`);
  },
});

/** A user record as Prisma returns it (BIGINT columns as BigInt), plus a property JSON cannot write. */
const userRecord = () => ({
  id: 9_007_199_254_740_993n,
  email: 'ada@example.com',
  stats: { visits: 12n, createdAt: new Date(0) },
  session: unwritable(),
});

describe('context properties that cannot be sent as JSON', () => {
  const fake = useFakePostHog();
  const started = useStartedFlags(fake);

  it('through a guarded route: answers as the flag says (never a 500); a BigInt sent as text, the rest left out', async () => {
    const logs = new CaptureLogger();
    const app = await startGuardedApp(
      'express',
      {
        host: fake.url,
        contextFactory: (): FlagContext => ({
          distinctId: 'u-prisma',
          groups: { company: 'acme' },
          personProperties: { ...userRecord() },
          groupProperties: { company: { employees: 250n, billing: unwritable() } },
        }),
      },
      logs,
    );
    try {
      const before = fake.requests.length;
      await request(app.getHttpServer()).get('/features/beta').expect(200);
      await request(app.getHttpServer()).get('/features/dark-mode').expect(404);
      await request(app.getHttpServer()).get('/features/beta').expect(200);
      expect(fake.requests.length).toBeGreaterThan(before);
      expect(fake.requests[before]!.body).toMatchObject({
        person_properties: {
          id: '9007199254740993',
          email: 'ada@example.com',
          stats: { visits: '12', createdAt: new Date(0).toISOString() },
        },
        group_properties: { company: { employees: '250' } },
      });
      const body = fake.requests[before]!.body as {
        person_properties: Record<string, unknown>;
        group_properties: { company: Record<string, unknown> };
      };
      expect(body.person_properties).not.toHaveProperty('session');
      expect(body.group_properties.company).not.toHaveProperty('billing');
      // One warning per property, naming it, never its value, however many requests.
      const warnings = logs.at('warn');
      expect(warnings.filter((line) => line.includes('personProperties["session"]'))).toHaveLength(1);
      expect(warnings.filter((line) => line.includes('groupProperties["company"]["billing"]'))).toHaveLength(1);
      expect(logs.text).not.toContain(SECRET);
      expect(logs.at('error')).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('FlagsService resolves (remote), sending what it can, and warns once per property', async () => {
    const logs = new CaptureLogger();
    const { flags } = await started.start({}, logs);
    const context: FlagContext = { distinctId: 'u-service', personProperties: userRecord() };
    expect(await flags.getFlagResult('beta', context)).toMatchObject({ enabled: true, source: 'remote' });
    expect(await flags.isEnabled('dark-mode', { ...context, distinctId: 'u-service-2' })).toBe(false);
    expect(fake.requests.at(-1)!.body).toMatchObject({ person_properties: { id: '9007199254740993' } });
    expect(logs.at('warn').filter((line) => line.includes('personProperties["session"]'))).toHaveLength(1);
    expect(logs.text).not.toContain(SECRET);
  });

  it('local evaluation matches a BigInt property as its number, and the exposure is sent', async () => {
    const definitions = standardDefinitions();
    (definitions.flags as unknown[]).push({
      id: 5,
      key: 'big-spender',
      active: true,
      filters: {
        groups: [
          {
            properties: [{ key: 'balance', type: 'person', operator: 'gt', value: 1000 }],
            rollout_percentage: 100,
          },
        ],
      },
    });
    fake.definitions = definitions;
    const logs = new CaptureLogger();
    const { flags } = await started.start(
      { secretKey: TEST_SECRET_KEY, localEvaluation: { pollIntervalMs: 1000 }, eventQueue: { flushAt: 1 } },
      logs,
    );
    await eventually(() => flags.status().definitions.source === 'upstream', 'the definitions to load');
    const context = (balance: bigint): FlagContext => ({
      distinctId: `u-local-${balance}`,
      personProperties: { balance, plan: 'pro', session: unwritable() },
    });
    expect(await flags.getFlagResult('big-spender', context(10n ** 20n))).toMatchObject({
      enabled: true,
      source: 'local',
    });
    expect(await flags.getFlagResult('big-spender', context(7n))).toMatchObject({ enabled: false, source: 'local' });
    expect(await flags.getFlagResult('pro-only', context(7n))).toMatchObject({ enabled: true, source: 'local' });
    await eventually(() => flags.status().exposures.sent === 3, 'the three exposures to be sent');
    expect(logs.text).not.toContain(SECRET);
  });

  /** A getter or `toJSON` that throws an error quoting what it holds. */
  const leaky = (): never => {
    throw new Error(`Reference<Org> not initialized: ${SECRET}`);
  };

  it('through a guarded route: a Date whose toJSON throws is left out (never a 500)', async () => {
    const logs = new CaptureLogger();
    const app = await startGuardedApp(
      'express',
      {
        host: fake.url,
        contextFactory: (): FlagContext => ({
          distinctId: 'u-date',
          personProperties: { plan: 'pro', lastSeen: Object.assign(new Date(), { toJSON: leaky }) },
        }),
      },
      logs,
    );
    try {
      const before = fake.requests.length;
      await request(app.getHttpServer()).get('/features/beta').expect(200);
      expect(fake.requests[before]!.body).toMatchObject({ person_properties: { plan: 'pro' } });
      expect(fake.requests[before]!.body).not.toHaveProperty('person_properties.lastSeen');
      expect(logs.at('warn').filter((line) => line.includes('personProperties["lastSeen"]'))).toHaveLength(1);
      expect(logs.text).not.toContain(SECRET);
      expect(logs.at('error')).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('FlagsService: a getter that throws, top-level or nested, is left out; unlistable properties too', async () => {
    const logs = new CaptureLogger();
    const { flags } = await started.start({}, logs);
    const top = { plan: 'pro' } as Record<string, unknown>;
    Object.defineProperty(top, 'org', { get: leaky, enumerable: true });
    const nested = { plan: 'pro', meta: Object.defineProperty({}, 'org', { get: leaky, enumerable: true }) };
    const unlistable = new Proxy({}, { ownKeys: leaky });
    const contexts: Record<string, FlagContext> = {
      top: { distinctId: 'u-top', personProperties: top },
      nested: { distinctId: 'u-nested', personProperties: nested },
      group: { distinctId: 'u-group', groups: { company: 'acme' }, groupProperties: { company: top } },
      unlistable: { distinctId: 'u-unlistable', personProperties: unlistable },
    };
    for (const context of Object.values(contexts)) {
      expect(await flags.isEnabled('beta', context)).toBe(true);
      expect(await flags.getFlagResult('beta', context)).toMatchObject({ enabled: true });
    }
    const warned = (path: string) => logs.at('warn').filter((line) => line.includes(`context.${path} left out`));
    expect(warned('personProperties["org"]')).toHaveLength(1);
    expect(warned('personProperties["meta"]')).toHaveLength(1);
    expect(warned('groupProperties["company"]["org"]')).toHaveLength(1);
    expect(warned('personProperties')).toHaveLength(1);
    expect(logs.text).not.toContain(SECRET);
    expect(logs.text).not.toContain('Reference<Org>');
  });

  describe('through OpenFeature', () => {
    afterEach(() => OpenFeature.clearProviders());

    it('resolves the flag (not GENERAL), with the BigInt attribute sent as text', async () => {
      const provider = new PostHogFlagsProvider();
      await started.start({ openFeature: provider });
      await OpenFeature.setProviderAndWait('unsendable', provider);
      const client = OpenFeature.getClient('unsendable');
      const context = { targetingKey: 'u-openfeature', balance: 12n, session: unwritable() };
      const details = await client.getBooleanDetails('beta', false, context as unknown as EvaluationContext);
      expect(details).toMatchObject({ value: true });
      expect(details.errorCode).toBeUndefined();
      expect(fake.requests.at(-1)!.body).toMatchObject({ person_properties: { balance: '12' } });
    });
  });
});
