import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ClsModule, ClsService } from 'nestjs-cls';
import request from 'supertest';
import { FeatureFlag, FlagEvaluations, Flags, FlagsModule, FlagsService } from '../src/index.js';
import { CaptureLogger } from './support/capture-logger.js';
import type { FakePostHog } from '../src/testing/index.js';
import { startStandardPostHog } from './support/fake-posthog.js';
import { TEST_API_KEY, userFromHeader } from './support/flags-app.js';
import { initApp, type Platform } from './support/guarded-app.js';

/** A service the handlers call: four reads, none passing a context. */
@Injectable()
class Reader {
  constructor(private readonly flags: FlagsService) {}

  async readFour() {
    return {
      beta: await this.flags.isEnabled('beta'),
      betaAgain: await this.flags.isEnabled('beta'),
      checkout: await this.flags.getFlag('checkout'),
      payload: await this.flags.getFlagPayload('beta'),
    };
  }
}

@Controller('scope')
class ScopeController {
  constructor(
    private readonly flags: FlagsService,
    private readonly reader: Reader,
    private readonly cls: ClsService,
  ) {}

  @Get('guarded')
  @FeatureFlag('beta')
  async guarded() {
    return this.readEverything();
  }

  @Get('unguarded')
  async unguarded() {
    return this.readEverything();
  }

  @Get('snapshot')
  async snapshot(@Flags() flags: FlagEvaluations) {
    const read = flags.getFlag('checkout');
    return {
      read,
      same: flags === (await this.flags.evaluateFlags()),
      accessed: (await this.flags.evaluateFlags()).onlyAccessed().keys,
      distinctId: flags.distinctId,
    };
  }

  /** Four reads in the handler and four in a service, then the snapshot: one evaluation in all. */
  private async readEverything() {
    const inHandler = {
      beta: await this.flags.isEnabled('beta'),
      betaAgain: await this.flags.isEnabled('beta'),
      checkout: await this.flags.getFlag('checkout'),
      payload: await this.flags.getFlagPayload('beta'),
    };
    const inService = await this.reader.readFour();
    const snapshot = await this.flags.evaluateFlags();
    return { inHandler, inService, keys: snapshot.keys.sort(), clsId: this.cls.getId() };
  }
}

/** An application with nestjs-cls beside the module; the user is the `x-user` header, through `contextFactory`. */
async function startApp(platform: Platform, fake: FakePostHog, logs: CaptureLogger): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      ClsModule.forRoot({ global: true, middleware: { mount: true, generateId: true } }),
      FlagsModule.forRoot({
        apiKey: TEST_API_KEY,
        host: fake.url,
        retries: 0,
        contextFactory: userFromHeader,
      }),
    ],
    controllers: [ScopeController],
    providers: [Reader],
  })
    .setLogger(logs)
    .compile();
  return initApp(moduleRef, platform);
}

describe.each<Platform>(['express', 'fastify'])('the request scope, on %s (with nestjs-cls in the app)', (platform) => {
  let fake: FakePostHog;
  let app: INestApplication;
  const logs = new CaptureLogger();
  const flagsCalls = () => fake.requests.filter((recorded) => recorded.url.startsWith('/flags')).length;

  beforeAll(async () => {
    fake = await startStandardPostHog();
    app = await startApp(platform, fake, logs);
  });

  afterAll(async () => {
    await app.close();
    await fake.close();
  });

  const expectedReads = { beta: true, betaAgain: true, checkout: 'test', payload: { color: 'blue' } };

  it.each(['guarded', 'unguarded'])(
    'makes one /flags call for a %s request reading eight flags without a context, in the handler and a service',
    async (route) => {
      for (const user of ['user-1', 'user-2']) {
        const before = flagsCalls();
        const response = await request(app.getHttpServer()).get(`/scope/${route}`).set('x-user', user).expect(200);
        expect(flagsCalls() - before).toBe(1);
        expect(response.body).toMatchObject({ inHandler: expectedReads, inService: expectedReads });
        expect(response.body.keys).toEqual(['beta', 'checkout', 'dark-mode']);
        expect(fake.requests.at(-1)!.body).toMatchObject({ distinct_id: user });
        expect(typeof response.body.clsId).toBe('string');
      }
    },
  );

  it("hands @Flags() the request's snapshot: the very one evaluateFlags() gives, reads shared", async () => {
    const before = flagsCalls();
    const response = await request(app.getHttpServer()).get('/scope/snapshot').set('x-user', 'user-3').expect(200);
    expect(response.body).toEqual({ read: 'test', same: true, accessed: ['checkout'], distinctId: 'user-3' });
    expect(flagsCalls() - before).toBe(1);
  });

  it('gives an anonymous request an empty snapshot, asking nothing', async () => {
    const before = flagsCalls();
    const response = await request(app.getHttpServer()).get('/scope/unguarded').expect(200);
    expect(response.body.inHandler).toEqual({ beta: false, betaAgain: false });
    expect(flagsCalls() - before).toBe(0);
  });

  it('mounts its middleware without a warning', () => {
    expect([...logs.at('warn'), ...logs.at('error')]).toEqual([]);
  });

  it('throws a TypeError saying to pass a context, outside a request', async () => {
    const flags = app.get(FlagsService);
    await expect(flags.isEnabled('beta')).rejects.toThrow(TypeError);
    await expect(flags.evaluateFlags()).rejects.toThrow(/pass a context/);
  });
});
