import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ExecutionContext, INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SubscribeMessage, WebSocketGateway, WsException, type OnGatewayInit } from '@nestjs/websockets';
import type { AddressInfo } from 'node:net';
import type { Server, Socket } from 'socket.io';
import { io, type Socket as ClientSocket } from 'socket.io-client';
import {
  FeatureFlag,
  FlagEvaluations,
  Flags,
  FlagsModule,
  FlagsService,
  type FlagsModuleOptions,
} from '../src/index.js';
import { FakePostHog } from '../src/testing/index.js';
import { CaptureLogger } from './support/capture-logger.js';

/** The arguments of the next `event` the client receives. */
function nextEvent(client: ClientSocket, event: string): Promise<unknown[]> {
  return new Promise((resolve) => client.once(event, (...args: unknown[]) => resolve(args)));
}

/** What a handler read of the message's flags. */
interface Seen {
  distinctId: string;
  beta: boolean;
  service: boolean;
}

/** A gateway whose authentication (socket.io middleware) puts `handshake.auth.user` in `client.data.user`. */
@WebSocketGateway()
class BetaGateway implements OnGatewayInit {
  constructor(private readonly flags: FlagsService) {}

  afterInit(server: Server): void {
    server.use((socket: Socket, next) => {
      const user: unknown = socket.handshake.auth.user;
      if (typeof user === 'string') socket.data.user = { id: user };
      next();
    });
  }

  @SubscribeMessage('beta')
  @FeatureFlag('beta')
  async beta(@Flags() flags: FlagEvaluations): Promise<Seen> {
    return this.seen(flags);
  }

  @SubscribeMessage('open')
  async open(@Flags() flags: FlagEvaluations): Promise<Seen> {
    return this.seen(flags);
  }

  /** Starts work that outlives the message: it asks for the flags without a context once released. */
  @SubscribeMessage('leftover')
  async leftover(@Flags() flags: FlagEvaluations): Promise<string> {
    const released = new Promise<void>((resolve) => (this.release = resolve));
    this.leftoverWork = released.then(() => this.flags.isEnabled('beta'));
    this.leftoverWork.catch(() => undefined);
    return flags.distinctId;
  }

  release?: () => void;
  leftoverWork?: Promise<boolean>;

  @SubscribeMessage('custom')
  @FeatureFlag('beta', { exception: () => new WsException('beta testers only') })
  custom(): boolean {
    return true;
  }

  private async seen(flags: FlagEvaluations): Promise<Seen> {
    return { distinctId: flags.distinctId, beta: flags.isEnabled('beta'), service: await this.flags.isEnabled('beta') };
  }
}

/** Starts the gateway's application with these module options; its URL. */
async function startGateway(
  fake: FakePostHog,
  logs: CaptureLogger,
  options: Partial<FlagsModuleOptions> = {},
): Promise<{ app: INestApplication; url: string }> {
  const moduleRef = await Test.createTestingModule({
    imports: [FlagsModule.forRoot({ apiKey: fake.apiKey, host: fake.url, retries: 0, ...options })],
    providers: [BetaGateway],
  })
    .setLogger(logs)
    .compile();
  const app = moduleRef.createNestApplication({ logger: logs });
  await app.listen(0, '127.0.0.1');
  return { app, url: `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}` };
}

/** A connected client of `url` for `user` (its handshake's `auth.user`). */
async function connectTo(url: string, clients: ClientSocket[], user?: string): Promise<ClientSocket> {
  const client = io(url, { transports: ['websocket'], auth: user ? { user } : {}, reconnection: false });
  clients.push(client);
  await nextEvent(client, 'connect');
  return client;
}

describe('a socket.io gateway, without a contextFactory', () => {
  let fake: FakePostHog;
  let app: INestApplication;
  let url: string;
  const logs = new CaptureLogger();
  const clients: ClientSocket[] = [];

  const connect = (user?: string) => connectTo(url, clients, user);

  beforeAll(async () => {
    fake = await FakePostHog.start();
    fake.setFlag('beta', ({ distinctId }) => distinctId === 'alice');
    ({ app, url } = await startGateway(fake, logs));
  });

  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await app.close();
    await fake.close();
  });

  it('lets client.data.user through, with one evaluation per message for the guard, @Flags() and the service', async () => {
    const alice = await connect('alice');
    const before = fake.requests.length;
    expect(await alice.emitWithAck('beta', {})).toEqual({ distinctId: 'alice', beta: true, service: true });
    expect(fake.requests.length - before).toBe(1);
  });

  it("gives @Flags() and context-less calls the message's own user on a handler without @FeatureFlag", async () => {
    const alice = await connect('alice');
    expect(await alice.emitWithAck('open', {})).toEqual({ distinctId: 'alice', beta: true, service: true });
    const bob = await connect('bob');
    expect(await bob.emitWithAck('open', {})).toEqual({ distinctId: 'bob', beta: false, service: false });
  });

  it('denies with a WsException the client receives as an exception event, and logs no error', async () => {
    const bob = await connect('bob');
    const denied = nextEvent(bob, 'exception');
    bob.emit('beta', { n: 1 });
    const [payload] = (await denied) as [{ status: string; message: string }];
    expect(payload).toMatchObject({ status: 'error', message: 'Forbidden resource' });
    expect(logs.at('error')).toEqual([]);
  });

  it("throws what the decorator's exception function builds", async () => {
    const bob = await connect('bob');
    const denied = nextEvent(bob, 'exception');
    bob.emit('custom', {});
    expect((await denied)[0]).toMatchObject({ status: 'error', message: 'beta testers only' });
  });

  it('ends the scope with the message: work that outlives it gets the TypeError of a call outside any', async () => {
    const alice = await connect('alice');
    const before = fake.requests.length;
    expect(await alice.emitWithAck('leftover', {})).toBe('alice');
    const gateway = app.get(BetaGateway);
    gateway.release!();
    await expect(gateway.leftoverWork).rejects.toThrow(/not inside a request or message/);
    expect(await alice.emitWithAck('leftover', {})).toBe('alice');
    expect(fake.requests.length - before).toBe(2);
  });

  it('gives an anonymous client an empty @Flags() snapshot without asking PostHog', async () => {
    const anonymous = await connect();
    const before = fake.requests.length;
    expect(await anonymous.emitWithAck('open', {})).toEqual({ distinctId: '', beta: false, service: false });
    expect(fake.requests.length).toBe(before);
  });
});

describe('a socket.io gateway with a contextFactory and a module-wide exception function', () => {
  let fake: FakePostHog;
  let app: INestApplication;
  let url: string;
  const clients: ClientSocket[] = [];
  const types: string[] = [];

  beforeAll(async () => {
    fake = await FakePostHog.start();
    fake.setFlag('beta', ({ distinctId }) => distinctId === 'tenant-alice');
    ({ app, url } = await startGateway(fake, new CaptureLogger(), {
      contextFactory: (context: ExecutionContext) => {
        types.push(context.getType());
        const user: unknown = context.switchToWs().getClient<Socket>().handshake.auth.user;
        return typeof user === 'string' ? `tenant-${user}` : undefined;
      },
      exception: (context) => (context.getType() === 'ws' ? new WsException('no beta on sockets') : undefined),
    }));
  });

  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await app.close();
    await fake.close();
  });

  it("hands contextFactory the message's own ws execution context, for the guard and context-less calls", async () => {
    const alice = await connectTo(url, clients, 'alice');
    expect(await alice.emitWithAck('open', {})).toEqual({ distinctId: 'tenant-alice', beta: true, service: true });
    expect(await alice.emitWithAck('beta', {})).toEqual({ distinctId: 'tenant-alice', beta: true, service: true });
    expect(new Set(types)).toEqual(new Set(['ws']));
  });

  it('throws what the module-wide exception function builds for ws', async () => {
    const bob = await connectTo(url, clients, 'bob');
    const denied = nextEvent(bob, 'exception');
    bob.emit('beta', {});
    expect((await denied)[0]).toMatchObject({ status: 'error', message: 'no beta on sockets' });
  });
});
