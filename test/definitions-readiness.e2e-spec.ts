import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { FlagsHealthIndicator } from '../src/health/index.js';
import { FlagsModule, FlagsService, type FlagsModuleOptions } from '../src/index.js';
import { CaptureLogger } from './support/capture-logger.js';
import { TEST_SECRET_KEY, standardDefinitions } from './support/definitions.js';
import { eventually } from './support/eventually.js';
import { FakePostHog } from './support/fake-posthog.js';
import { startFlags, TEST_API_KEY, type FlagsHarness } from './support/flags-app.js';
import { RunningFlags } from './support/running-flags.js';

@Controller()
class ProbeController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly flags: FlagsHealthIndicator,
  ) {}

  @Get('health')
  @HealthCheck()
  healthy() {
    return this.health.check([() => this.flags.isHealthy()]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.flags.isReady()]);
  }
}

describe('local evaluation readiness', () => {
  let fake: FakePostHog;
  const modules = new RunningFlags();
  let apps: INestApplication[] = [];
  let release: () => void;

  beforeEach(async () => {
    fake = await FakePostHog.start();
    fake.definitions = standardDefinitions();
    fake.definitionsGate = new Promise<void>((resolve) => (release = resolve));
  });

  afterEach(async () => {
    release();
    await modules.closeAll();
    for (const app of apps) await app.close();
    apps = [];
    await fake.stop();
  });

  const local = (more: FlagsModuleOptions['localEvaluation'] = {}): FlagsModuleOptions => ({
    host: fake.url,
    secretKey: TEST_SECRET_KEY,
    retries: 0,
    localEvaluation: { pollIntervalMs: 1000, ...more },
  });

  async function start(options: FlagsModuleOptions): Promise<FlagsHarness> {
    const harness = await startFlags(options);
    modules.add(harness);
    return harness;
  }

  it('waitForLocalEvaluationReady resolves true when the definitions arrive', async () => {
    const { flags } = await start(local());
    await eventually(() => fake.definitionsRequests.length === 1, 'the first poll');
    expect(flags.isLocalEvaluationReady()).toBe(false);
    expect(flags.status().definitions).toMatchObject({ mode: 'polling', ready: false });
    const ready = flags.waitForLocalEvaluationReady(10_000);
    release();
    expect(await ready).toBe(true);
    expect(flags.isLocalEvaluationReady()).toBe(true);
    expect(flags.status().definitions.ready).toBe(true);
    expect(await flags.waitForLocalEvaluationReady(0)).toBe(true);
  });

  it('waitForLocalEvaluationReady resolves false on timeout, without local evaluation, and at shutdown', async () => {
    fake.definitionsAnswer = 503;
    release();
    const { flags, moduleRef } = await start(local());
    expect(await flags.waitForLocalEvaluationReady(200)).toBe(false);
    const off = await start({ host: fake.url });
    expect(await off.flags.waitForLocalEvaluationReady(60_000)).toBe(false);
    expect(off.flags.isLocalEvaluationReady()).toBe(false);

    const waiting = flags.waitForLocalEvaluationReady(60_000);
    await modules.close(moduleRef);
    expect(await waiting).toBe(false);
  });

  it('definitions that define no flag are not ready (posthog-node: at least one flag)', async () => {
    fake.definitions = { flags: [], group_type_mapping: {}, cohorts: {} };
    release();
    const { flags } = await start(local());
    await eventually(() => flags.status().definitions.loadedAt, 'the empty definitions to load');
    expect(flags.isLocalEvaluationReady()).toBe(false);
  });

  it('holdBootstrapMs holds init() until the definitions are in', async () => {
    let initialised = false;
    const startup = start(local({ holdBootstrapMs: 10_000 })).then((harness) => {
      initialised = true;
      return harness;
    });
    await eventually(() => fake.definitionsRequests.length === 1, 'the first poll');
    expect(initialised).toBe(false);
    release();
    const { flags } = await startup;
    expect(flags.isLocalEvaluationReady()).toBe(true);
    expect(await flags.getFlagResult('beta', 'u1')).toMatchObject({ source: 'local' });
  });

  it('holdBootstrapMs is bounded: past it the application starts without them, with one warning', async () => {
    const logs = new CaptureLogger();
    const harness = await startFlags(local({ holdBootstrapMs: 300 }), logs);
    modules.add(harness);
    expect(harness.flags.isLocalEvaluationReady()).toBe(false);
    expect(logs.at('warn').filter((line) => line.includes('holdBootstrapMs'))).toEqual([
      expect.stringMatching(/^flag definitions not loaded within holdBootstrapMs \(300 ms\): starting without them/),
    ]);
  });

  it('the health indicator says not ready apart from degraded; isReady() is down until ready', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [TerminusModule, FlagsModule.forRoot({ apiKey: TEST_API_KEY, timeoutMs: 500, ...local() })],
      controllers: [ProbeController],
      providers: [FlagsHealthIndicator],
    })
      .setLogger(new CaptureLogger())
      .compile();
    const app = moduleRef.createNestApplication();
    apps.push(app);
    await app.init();
    const server = app.getHttpServer();

    const health = (await request(server).get('/health').expect(200)).body.details['posthog-flags'];
    expect(health).toMatchObject({ status: 'up', ready: false });
    expect(health.degraded).toBeUndefined();
    const notReady = (await request(server).get('/ready').expect(503)).body.error['posthog-flags-ready'];
    expect(notReady).toEqual({
      status: 'down',
      ready: false,
      reason: expect.stringMatching(/^local evaluation not ready/),
    });

    release();
    expect(await app.get(FlagsService).waitForLocalEvaluationReady(10_000)).toBe(true);
    expect((await request(server).get('/ready').expect(200)).body.details['posthog-flags-ready']).toEqual({
      status: 'up',
      ready: true,
    });
    expect((await request(server).get('/health').expect(200)).body.details['posthog-flags']).toMatchObject({
      ready: true,
      definitions: { mode: 'polling', source: 'upstream' },
    });
  });
});
