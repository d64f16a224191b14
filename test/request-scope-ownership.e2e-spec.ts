import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  Injectable,
  Req,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { APP_GUARD, HttpAdapterHost } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { FastifyInstance } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { FeatureFlag, FlagEvaluations, Flags, FlagsModule, FlagsService } from '../src/index.js';
import { ExposureQueue } from '../src/exposures/exposure-queue.js';
import { FakePostHog } from './support/fake-posthog.js';
import { TEST_API_KEY } from './support/flags-app.js';
import { initApp, type Platform } from './support/guarded-app.js';
import { runScript } from './support/run-child.js';

/** A Fastify app, on the built package, whose route for bob serves one for carol through `app.inject()`. */
const INJECT_CHILD = fileURLToPath(new URL('./support/inject-child.mjs', import.meta.url));

/** The request as these handlers see it: `x-user` is whom it is for, `x-owner` a document's owner. */
interface DocumentRequest {
  headers: Record<string, string | undefined>;
  canShare?: boolean;
}

/**
 * A global guard that runs before `@FeatureFlag`: whether the document's owner (`x-owner`) may share it, asked for
 * the owner's context explicitly.
 */
@Injectable()
class OwnerMayShareGuard implements CanActivate {
  constructor(private readonly flags: FlagsService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const incoming = context.switchToHttp().getRequest<DocumentRequest>();
    const owner = incoming.headers['x-owner'];
    if (owner) incoming.canShare = await this.flags.isEnabled('can-share', owner);
    return true;
  }
}

@Controller()
class DocumentsController {
  constructor(
    private readonly flags: FlagsService,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  @Get('documents/guarded')
  @FeatureFlag('beta')
  async guarded(@Flags() flags: FlagEvaluations, @Req() incoming: DocumentRequest) {
    return this.describe(flags, incoming);
  }

  @Get('documents/open')
  async open(@Flags() flags: FlagEvaluations, @Req() incoming: DocumentRequest) {
    return this.describe(flags, incoming);
  }

  /** Reads its own flags, then has the app serve `/nested/inner` for carol, in this request's async context. */
  @Get('nested/outer')
  async outer(@Flags() flags: FlagEvaluations) {
    const before = flags.getFlagPayload('beta');
    const inner: unknown = await this.serveInner({ 'x-user': 'carol' });
    const after = await this.flags.evaluateFlags();
    return { before, distinctId: flags.distinctId, inner, after: after.distinctId };
  }

  @Get('nested/inner')
  async inner(@Flags() flags: FlagEvaluations) {
    return {
      distinctId: flags.distinctId,
      payload: await this.flags.getFlagPayload('beta'),
      evaluated: (await this.flags.evaluateFlags()).distinctId,
    };
  }

  private async describe(flags: FlagEvaluations, incoming: DocumentRequest) {
    return {
      canShare: incoming.canShare,
      distinctId: flags.distinctId,
      checkout: flags.getFlag('checkout'),
      bootstrap: flags.bootstrap(),
      evaluated: incoming.headers['x-user'] ? (await this.flags.evaluateFlags()).distinctId : undefined,
    };
  }

  /**
   * `/nested/inner` served by this very app from inside this handler, through a loopback HTTP request to a server
   * supertest starts from here (so in this request's async context): on Express the app, on Fastify its router
   * (`fastify.routing`, what `inject()` dispatches to; `inject()` itself cannot load under jest on Node 20).
   */
  private async serveInner(headers: Record<string, string>): Promise<unknown> {
    const adapter = this.adapterHost.httpAdapter;
    const app =
      adapter.getType() === 'fastify'
        ? routerOf(adapter.getInstance<FastifyInstance>())
        : adapter.getInstance<(incoming: IncomingMessage, outgoing: ServerResponse) => void>();
    return (await request(app).get('/nested/inner').set(headers).expect(200)).body;
  }
}

/** Fastify's router as a Node request listener. */
function routerOf(fastify: FastifyInstance): (incoming: IncomingMessage, outgoing: ServerResponse) => void {
  return (incoming, outgoing) => fastify.routing(incoming, outgoing);
}

/** Each user's flags: bob's `can-share` and every user's own `beta` payload and `checkout` variant. */
function setUsers(fake: FakePostHog): void {
  // Without a distinct id, setFlags() replaces every flag, the users' own included: so first.
  fake.setFlags({});
  fake.setFlags(
    {
      beta: { enabled: true, payload: { for: 'alice' } },
      checkout: { enabled: true, variant: 'control' },
    },
    'alice',
  );
  fake.setFlags(
    {
      beta: { enabled: true, payload: { for: 'bob' } },
      checkout: { enabled: true, variant: 'test' },
      'can-share': { enabled: true },
    },
    'bob',
  );
  fake.setFlags({ beta: { enabled: true, payload: { for: 'carol' } } }, 'carol');
}

describe.each<Platform>(['express', 'fastify'])("a request's scope is its own, on %s", (platform) => {
  let fake: FakePostHog;
  let app: INestApplication;

  beforeAll(async () => {
    fake = await FakePostHog.start();
    setUsers(fake);
    const moduleRef = await Test.createTestingModule({
      imports: [
        FlagsModule.forRoot({
          apiKey: TEST_API_KEY,
          host: fake.url,
          retries: 0,
          eventQueue: { flushAt: 1000, flushIntervalMs: 3_600_000 },
          contextFactory: (context) => context.switchToHttp().getRequest<DocumentRequest>().headers['x-user'],
        }),
      ],
      controllers: [DocumentsController],
      providers: [{ provide: APP_GUARD, useClass: OwnerMayShareGuard }],
    }).compile();
    app = await initApp(moduleRef, platform);
  });

  afterAll(async () => {
    await app.close();
    await fake.stop();
  });

  const server = () => app.getHttpServer();

  it.each(['guarded', 'open'])(
    "hands @Flags() the request's own snapshot on a %s route, not the one a guard asked for another user",
    async (route) => {
      const response = await request(server())
        .get(`/documents/${route}`)
        .set({ 'x-user': 'alice', 'x-owner': 'bob' })
        .expect(200);
      expect(response.body).toEqual({
        canShare: true,
        distinctId: 'alice',
        checkout: 'control',
        bootstrap: {
          distinctID: 'alice',
          featureFlags: { beta: true, checkout: 'control', 'can-share': false }, // bob's flag, off for alice
          featureFlagPayloads: { beta: { for: 'alice' } },
        },
        evaluated: 'alice',
      });
      await app.get(ExposureQueue).flush();
      // Every checkout read in this file is alice's (the second route's is deduplicated with the first's).
      const checkoutReads = fake.events
        .filter((event) => event.properties['$feature_flag'] === 'checkout')
        .map((event) => [event.distinct_id, event.properties['$feature_flag_response']]);
      expect(checkoutReads).toEqual([['alice', 'control']]);
    },
  );

  it("hands an anonymous request's @Flags() an empty snapshot, not the one a guard asked for a user", async () => {
    const response = await request(server()).get('/documents/open').set('x-owner', 'bob').expect(200);
    expect(response.body).toEqual({
      canShare: true,
      distinctId: '',
      bootstrap: { distinctID: '', featureFlags: {}, featureFlagPayloads: {} },
    });
  });

  it("gives a request served inside another's async context a scope of its own, and leaves the outer one as it was", async () => {
    const response = await request(server()).get('/nested/outer').set('x-user', 'bob').expect(200);
    expect(response.body).toEqual({
      before: { for: 'bob' },
      distinctId: 'bob',
      inner: { distinctId: 'carol', payload: { for: 'carol' }, evaluated: 'carol' },
      after: 'bob',
    });
  });
});

// inject() (light-my-request) cannot load under jest on Node 20 (it needs the ESM-only cookie@2): the app runs in a
// process of its own, on the built package (`npm run build` first).
describe("a request Fastify's inject() serves inside another's async context", () => {
  let fake: FakePostHog;

  beforeAll(async () => {
    fake = await FakePostHog.start();
    setUsers(fake);
  });

  afterAll(async () => {
    await fake.stop();
  });

  it("has a scope of its own (carol's flags), and the outer request keeps bob's", async () => {
    const printed = await runScript(INJECT_CHILD, { POSTHOG_API_KEY: TEST_API_KEY, POSTHOG_HOST: fake.url });
    const bob = { distinctId: 'bob', payload: { for: 'bob' } };
    expect(JSON.parse(printed)).toEqual({
      status: 200,
      body: {
        before: bob,
        inner: { distinctId: 'carol', payload: { for: 'carol' }, service: { for: 'carol' }, evaluated: 'carol' },
        after: { ...bob, service: { for: 'bob' }, evaluated: 'bob' },
      },
    });
  });
});
