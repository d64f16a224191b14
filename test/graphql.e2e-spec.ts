import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { ExecutionContext, INestApplication } from '@nestjs/common';
import { UnauthorizedException } from '@nestjs/common';
import request from 'supertest';
import { FakePostHog } from '../src/testing/index.js';
import { CaptureLogger } from './support/capture-logger.js';
import { startGraphqlApp } from './support/graphql-app.js';

/** PostHog's answers: beta and secret on for alice only. */
function setUsers(fake: FakePostHog): void {
  fake.clearFlags();
  fake.setFlag('beta', ({ distinctId }) => distinctId === 'alice');
  fake.setFlag('secret', ({ distinctId }) => distinctId === 'alice');
}

/** Posts a GraphQL document for `user` (the `x-user` header the app's authentication reads). */
async function post(app: INestApplication, query: string, user?: string) {
  const pending = request(app.getHttpServer()).post('/graphql').send({ query });
  const response = await (user ? pending.set('x-user', user) : pending);
  return response.body as { data?: Record<string, unknown> | null; errors?: GraphqlError[] };
}

interface GraphqlError {
  message: string;
  path?: string[];
  extensions?: { code?: string; stacktrace?: string[] };
}

describe('GraphQL resolvers (Apollo, code-first), without a contextFactory', () => {
  let fake: FakePostHog;
  let app: INestApplication;
  const logs = new CaptureLogger();

  beforeAll(async () => {
    fake = await FakePostHog.start();
    app = await startGraphqlApp({ apiKey: fake.apiKey, host: fake.url }, logs);
  });

  afterAll(async () => {
    await app.close();
    await fake.close();
  });

  afterEach(() => setUsers(fake));
  beforeAll(() => setUsers(fake));

  it("lets the resolver context's req.user through @FeatureFlag, and shares one evaluation with @Flags() and the service", async () => {
    const before = fake.requests.length;
    const body = await post(app, '{ beta { distinctId beta service } open { distinctId beta } contextless }', 'alice');
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({
      beta: { distinctId: 'alice', beta: true, service: true },
      open: { distinctId: 'alice', beta: true },
      contextless: true,
    });
    expect(fake.requests.slice(before).map((sent) => sent.distinctId)).toEqual(['alice']);
  });

  it('shares one evaluation across the operations of a batched request, each user their own', async () => {
    const before = fake.requests.length;
    const operations = [
      { query: '{ beta { distinctId service } }' },
      { query: '{ open { distinctId beta } contextless }' },
    ];
    const [alice, bob] = await Promise.all(
      ['alice', 'bob'].map((user) =>
        request(app.getHttpServer()).post('/graphql').set('x-user', user).send(operations).expect(200),
      ),
    );
    expect(alice!.body).toEqual([
      { data: { beta: { distinctId: 'alice', service: true } } },
      { data: { open: { distinctId: 'alice', beta: true }, contextless: true } },
    ]);
    expect(bob!.body[1]).toEqual({ data: { open: { distinctId: 'bob', beta: false }, contextless: false } });
    expect(bob!.body[0].errors[0].extensions.code).toBe('FORBIDDEN');
    expect(
      fake.requests
        .slice(before)
        .map((sent) => sent.distinctId)
        .sort(),
    ).toEqual(['alice', 'bob']);
  });

  it('denies with extensions.code FORBIDDEN, an error built for this denial, never INTERNAL_SERVER_ERROR', async () => {
    const body = await post(app, '{ beta { distinctId } }', 'bob');
    expect(body.data).toBeNull();
    expect(body.errors).toEqual([
      expect.objectContaining({ message: 'Forbidden resource', path: ['beta'], extensions: expect.anything() }),
    ]);
    expect(body.errors![0].extensions!.code).toBe('FORBIDDEN');
    expect(JSON.stringify(body.errors)).not.toMatch(/new FeatureFlagGuard|INTERNAL_SERVER_ERROR/);
    expect(logs.at('error')).toEqual([]);
  });

  it('guards a @ResolveField with fieldResolverEnhancers: ["guards"]', async () => {
    const alice = await post(app, '{ open { distinctId secret } }', 'alice');
    expect(alice.data).toEqual({ open: { distinctId: 'alice', secret: 'secret for alice' } });
    const bob = await post(app, '{ open { distinctId secret } }', 'bob');
    expect(bob.data).toEqual({ open: { distinctId: 'bob', secret: null } });
    expect(bob.errors).toEqual([expect.objectContaining({ path: ['open', 'secret'] })]);
    expect(bob.errors![0].extensions!.code).toBe('FORBIDDEN');
  });

  it("throws the decorator's exception function's error, and keeps REST's 404", async () => {
    const body = await post(app, 'mutation { write { distinctId } }', 'bob');
    expect(body.errors).toEqual([expect.objectContaining({ message: 'beta writes are gone' })]);
    const rest = await request(app.getHttpServer()).get('/rest/beta').set('x-user', 'bob').expect(404);
    expect(rest.body).toMatchObject({ message: 'Cannot GET /rest/beta' });
  });

  it('gives an anonymous operation an empty @Flags() snapshot, and PostHog no call', async () => {
    const before = fake.requests.length;
    const body = await post(app, '{ open { distinctId beta } contextless }');
    expect(body.data).toEqual({ open: { distinctId: '', beta: false }, contextless: false });
    expect(fake.requests.length).toBe(before);
  });
});

describe('GraphQL resolvers with a GraphQL-only contextFactory', () => {
  let fake: FakePostHog;
  let app: INestApplication;
  const logs = new CaptureLogger();
  const seen: string[] = [];

  beforeAll(async () => {
    fake = await FakePostHog.start();
    setUsers(fake);
    app = await startGraphqlApp(
      {
        apiKey: fake.apiKey,
        host: fake.url,
        // Names the GraphQL user from the resolver context; leaves every other transport to its default user.
        contextFactory: (context: ExecutionContext) => {
          seen.push(`${context.getType()} ${context.getHandler()?.name}`);
          if (context.getType<string>() !== 'graphql') return undefined;
          const req = context.getArgByIndex<{ req: { headers: Record<string, string> } }>(2).req;
          return req.headers['x-gql-user'];
        },
        exception: (context) =>
          context.getType<string>() === 'graphql' ? new UnauthorizedException('sign in to beta') : undefined,
      },
      logs,
    );
  });

  afterAll(async () => {
    await app.close();
    await fake.close();
  });

  it('hands contextFactory the real execution context of a context-less call, never a made-up http one', async () => {
    seen.length = 0;
    const body = await request(app.getHttpServer())
      .post('/graphql')
      .set('x-gql-user', 'alice')
      .send({ query: '{ contextless open { distinctId beta service } }' });
    expect(body.body.data).toEqual({ contextless: true, open: { distinctId: 'alice', beta: true, service: true } });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((line) => line.startsWith('graphql '))).toBe(true);
    expect(logs.at('error')).toEqual([]);
  });

  it("keeps REST's context-less calls and guard on request.user", async () => {
    await request(app.getHttpServer())
      .get('/rest/contextless')
      .set('x-user', 'alice')
      .expect('x-beta', 'true')
      .expect(200, { beta: true });
    await request(app.getHttpServer()).get('/rest/contextless').set('x-user', 'bob').expect(200, { beta: false });
    await request(app.getHttpServer()).get('/rest/beta').set('x-user', 'alice').expect(200);
    await request(app.getHttpServer()).get('/rest/beta').set('x-user', 'bob').expect(404);
  });

  it('throws what the module-wide exception function builds for GraphQL, and the default elsewhere', async () => {
    const body = await request(app.getHttpServer())
      .post('/graphql')
      .set('x-gql-user', 'bob')
      .send({ query: '{ beta { distinctId } }' });
    expect(body.body.errors).toEqual([expect.objectContaining({ message: 'sign in to beta' })]);
    expect(body.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});
