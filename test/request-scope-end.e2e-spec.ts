import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Res, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { EventEmitter } from 'node:events';
import { get } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { FlagEvaluations, Flags, FlagsModule, FlagsService } from '../src/index.js';
import { FakePostHog } from './support/fake-posthog.js';
import { TEST_API_KEY } from './support/flags-app.js';
import { forceGc } from './support/force-gc.js';
import { initApp, type Platform } from './support/guarded-app.js';

/**
 * Work a request starts that outlives it (a lazily started flush loop, say): a loop that runs each task handed to
 * it, in the async context of the request that started it, for as long as the process lives.
 */
@Injectable()
class LeftoverWork {
  private readonly tasks: (() => Promise<void>)[] = [];
  private wake?: () => void;

  /** Starts the loop, in the caller's async context. */
  start(): void {
    void this.loop();
  }

  /** Runs `work` inside the loop, and gives its outcome. */
  run<T>(work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.tasks.push(() => work().then(resolve, reject));
      this.wake?.();
    });
  }

  private async loop(): Promise<void> {
    for (;;) {
      const task = this.tasks.shift();
      if (task) await task();
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

/** Resolves with what is passed once `settle` is called. */
function deferred<T>(): { promise: Promise<T>; settle: (value: T) => void } {
  let settle!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (settle = resolve));
  return { promise, settle };
}

/** Node's response under Express's, or under Fastify's reply. */
function rawOf(response: object): EventEmitter {
  return ('raw' in response ? response.raw : response) as EventEmitter;
}

/** What the test learns of the one request that starts the work. */
interface Started {
  /** Its own snapshot, held weakly. */
  snapshot?: WeakRef<FlagEvaluations>;
  /** Settles once its response is over, after the module's own listener ran (registered first, in middleware). */
  closed?: Promise<void>;
}

@Controller('work')
class WorkController {
  static readonly started: Started = {};
  /** The aborted request's handler: started, and what its call without a context gave once its client left. */
  static aborted = { started: deferred<void>(), outcome: deferred<string>() };

  constructor(
    private readonly work: LeftoverWork,
    private readonly flags: FlagsService,
  ) {}

  @Get('start')
  start(@Flags() flags: FlagEvaluations, @Res({ passthrough: true }) response: object) {
    const raw = rawOf(response);
    WorkController.started.closed = new Promise((resolve) => raw.once('close', () => resolve()));
    WorkController.started.snapshot = new WeakRef(flags);
    this.work.start();
    return { distinctId: flags.distinctId, payload: flags.getFlagPayload('beta') };
  }

  /** Goes on after its client has gone away, then reads a flag without a context. */
  @Get('abandoned')
  async abandoned(@Res({ passthrough: true }) response: object) {
    const closed = new Promise((resolve) => rawOf(response).once('close', resolve));
    WorkController.aborted.started.settle();
    await closed;
    const outcome = await this.flags.isEnabled('beta').then(String, (error: Error) => error.name);
    WorkController.aborted.outcome.settle(outcome);
  }
}

describe.each<Platform>(['express', 'fastify'])('the end of a request scope, on %s', (platform) => {
  let fake: FakePostHog;
  let app: INestApplication;
  let work: LeftoverWork;
  let flags: FlagsService;

  beforeAll(async () => {
    WorkController.aborted = { started: deferred(), outcome: deferred() };
    fake = await FakePostHog.start();
    fake.setFlags({});
    fake.setFlags({ beta: { enabled: true, payload: { for: 'erin' } } }, 'erin');
    fake.setFlags({ beta: { enabled: true, payload: { generation: 1 } } }, 'dave');
    const moduleRef = await Test.createTestingModule({
      imports: [
        FlagsModule.forRoot({
          apiKey: TEST_API_KEY,
          host: fake.url,
          retries: 0,
          contextFactory: (context) =>
            context.switchToHttp().getRequest<{ headers: { 'x-user'?: string } }>().headers['x-user'],
        }),
      ],
      controllers: [WorkController],
      providers: [LeftoverWork],
    }).compile();
    app = await initApp(moduleRef, platform);
    work = app.get(LeftoverWork);
    flags = app.get(FlagsService);
    const response = await request(app.getHttpServer()).get('/work/start').set('x-user', 'erin').expect(200);
    expect(response.body).toEqual({ distinctId: 'erin', payload: { for: 'erin' } });
    await WorkController.started.closed;
  });

  afterAll(async () => {
    await app.close();
    await fake.stop();
  });

  it("gives the work a call without a context the TypeError of one outside a request, not the request's answer", async () => {
    await expect(work.run(() => flags.getFlagPayload('beta'))).rejects.toThrow(TypeError);
    await expect(work.run(() => flags.evaluateFlags())).rejects.toThrow(/pass a context/);
  });

  it("evaluates the work's calls for a given context anew each time, not once for the request", async () => {
    expect(await work.run(() => flags.getFlagPayload('beta', 'dave'))).toEqual({ generation: 1 });
    fake.setFlags({ beta: { enabled: true, payload: { generation: 2 } } }, 'dave');
    expect(await work.run(() => flags.getFlagPayload('beta', 'dave'))).toEqual({ generation: 2 });
  });

  it('ends the scope when the client goes away before the response, the handler still running', async () => {
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    const client = get({ host: '127.0.0.1', port, path: '/work/abandoned', headers: { 'x-user': 'erin' } });
    client.on('error', () => {});
    await WorkController.aborted.started.promise;
    client.destroy();
    expect(await WorkController.aborted.outcome.promise).toBe('TypeError');
  });

  it("holds neither the request's own snapshot nor those the work evaluated, while the work goes on", async () => {
    const evaluated = await work.run(async () => new WeakRef(await flags.evaluateFlags('frank')));
    // The same evaluation outside any request: what the work's must be like.
    const outside = new WeakRef(await flags.evaluateFlags('gina'));
    // A turn of the event loop lets go of what the answer's own I/O still holds.
    await new Promise((resolve) => setImmediate(resolve));
    forceGc();
    expect(outside.deref()).toBeUndefined();
    expect(evaluated.deref()).toBeUndefined();
    expect(WorkController.started.snapshot!.deref()).toBeUndefined();
  });
});
