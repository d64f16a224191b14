import {
  Controller,
  Get,
  Injectable,
  NotFoundException,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
  type NestMiddleware,
} from '@nestjs/common';
import { Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { HttpAdapterHost, NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PostHog } from 'posthog-node';
import { routeNotFound } from '../src/guard/route-not-found.js';
import { FeatureFlag, FeatureFlagGuard, FlagsModule, FlagsService } from '../src/index.js';

/** The flag every guarded route checks. */
export const BENCH_FLAG = 'beta';

/** The benchmark's users: `user-0`, `user-1`, … */
export function benchUser(index: number): string {
  return `user-${index}`;
}

/** Whether the flag is on for a benchmark user: for even ones, so that half the guarded requests are denied. */
export function flagIsOnFor(user: string): boolean {
  return Number(user.slice('user-'.length)) % 2 === 0;
}

/** The secret key both contenders poll flag definitions with, when the app evaluates locally. */
const BENCH_SECRET_KEY = 'phs_bench_secret';

/**
 * The flag definitions the fake PostHog serves: the flag on for the same users as its `/flags` answers (a regex on
 * `distinct_id`, which both libraries add to the person properties they evaluate locally).
 */
export function benchDefinitions(): Record<string, unknown> {
  const evenUsers = { key: 'distinct_id', type: 'person', operator: 'regex', value: '[02468]$' };
  return {
    flags: [
      {
        id: 1,
        key: BENCH_FLAG,
        active: true,
        filters: { groups: [{ properties: [evenUsers], rollout_percentage: 100 }] },
      },
    ],
    group_type_mapping: {},
    cohorts: {},
  };
}

/** Stands in for authentication: `x-user` becomes `request.user.id`. */
@Injectable()
class BenchAuthMiddleware implements NestMiddleware {
  use(request: { headers: Record<string, string>; user?: { id: string } }, _response: unknown, next: () => void): void {
    const id = request.headers['x-user'];
    if (id) request.user = { id };
    next();
  }
}

/** What users write today: a guard around posthog-node's `isFeatureEnabled`, at its defaults. */
@Injectable()
class PostHogNodeGuard implements CanActivate {
  static client?: PostHog;

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const { user } = context.switchToHttp().getRequest<{ user?: { id: string } }>();
    if (user && (await PostHogNodeGuard.client!.isFeatureEnabled(BENCH_FLAG, user.id))) return true;
    throw new NotFoundException();
  }
}

/**
 * The reference: denies the same users as the flag, without looking anything up, with the same 404 as ours, built
 * the same way (Nest's unknown-route answer, `Cannot GET /path`). What any guard on this route costs in Nest with
 * this mix of answers.
 */
@Injectable()
class SameDenialsGuard implements CanActivate {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  // eslint-disable-next-line @typescript-eslint/require-await -- a Promise, as the guards it is set against
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<{ user?: { id: string } }>();
    if (request.user && flagIsOnFor(request.user.id)) return true;
    throw routeNotFound(this.adapterHost, request);
  }
}

/** Lets every request through without looking anything up: what Nest's guard machinery alone costs on this route. */
@Injectable()
class AllowAllGuard implements CanActivate {
  // eslint-disable-next-line @typescript-eslint/require-await -- a Promise, as the guards it is set against
  async canActivate(): Promise<boolean> {
    return true;
  }
}

@Controller()
class BenchController {
  @Get('ours')
  @FeatureFlag(BENCH_FLAG)
  ours() {
    return { ok: true };
  }

  /** Ours, sending no exposure events: what they cost, measured beside ours in the same app. */
  @Get('ours-quiet')
  @FeatureFlag(BENCH_FLAG, { sendFeatureFlagEvents: false })
  oursQuiet() {
    return { ok: true };
  }

  @Get('posthog-node')
  @UseGuards(PostHogNodeGuard)
  posthogNode() {
    return { ok: true };
  }

  @Get('reference')
  @UseGuards(SameDenialsGuard)
  reference() {
    return { ok: true };
  }

  @Get('allow-all')
  @UseGuards(AllowAllGuard)
  allowAll() {
    return { ok: true };
  }

  @Get('unguarded')
  unguarded() {
    return { ok: true };
  }
}

/**
 * Time spent inside the guards' `canActivate` (until it returns), by route: where a guard answers without waiting
 * (ours on a `fresh` hit or a local evaluation, the references always), its whole cost, timed in the app under the
 * load, so that two guards can be compared to the microsecond where the app's CPU time per request (a few hundred
 * µs, shared with the rest of the request) cannot.
 */
export type GuardTimes = Record<string, { nanos: number; calls: number }>;

const guardTimes: GuardTimes = {};

/** Routes by their handler's name, for {@link guardTimes}. */
const ROUTE_OF_HANDLER: Record<string, string> = { ours: '/ours', oursQuiet: '/ours-quiet', reference: '/reference' };

/** Wraps `canActivate` of the guard class to add its time to {@link guardTimes}. */
function timeGuard(guard: { prototype: CanActivate }): void {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the guard as `this`
  const canActivate = guard.prototype.canActivate;
  guard.prototype.canActivate = function (this: CanActivate, context: ExecutionContext) {
    const start = process.hrtime.bigint();
    try {
      return canActivate.call(this, context);
    } finally {
      const route = ROUTE_OF_HANDLER[context.getHandler().name];
      if (route) {
        const times = (guardTimes[route] ??= { nanos: 0, calls: 0 });
        times.nanos += Number(process.hrtime.bigint() - start);
        times.calls++;
      }
    }
  };
}

/**
 * Times our guard and the same-denials reference from now on, in this process: the benchmark app's (`server.ts`).
 * Not on import: `bench:guard` imports this module and times the guards itself, without the wrapper's own cost.
 */
export function timeGuards(): void {
  timeGuard(FeatureFlagGuard);
  timeGuard(SameDenialsGuard);
}

/** The benchmark's Nest app on Express, with both contenders' routes, and how to stop it. */
export interface BenchApp {
  url: string;
  /** The time spent in our guard and the same-denials reference so far, by route. */
  guardTimes(): GuardTimes;
  /**
   * Sends the events posthog-node has queued (one per `isFeatureEnabled` call, by default). Called while PostHog
   * is healthy, so that no flush of them fails in the background of a later row.
   */
  flushEvents(): Promise<void>;
  /** Settles once our module has flag definitions loaded (local evaluation). */
  definitionsLoaded(): Promise<void>;
  close(): Promise<void>;
}

/** Settings of one app: where PostHog is and how each contender is configured. */
export interface BenchAppOptions {
  posthogUrl: string;
  cacheUrl: string;
  /** Per-attempt timeout of both contenders; undefined: each library's default (3 s for both). */
  timeoutMs?: number;
  /** Both contenders evaluate locally: they poll flag definitions with a secret key, at their defaults. */
  localEvaluation?: boolean;
}

/** Starts the app on a free loopback port. */
export async function startBenchApp(options: BenchAppOptions): Promise<BenchApp> {
  const posthog = new PostHog('phc_bench_key', {
    host: options.posthogUrl,
    ...(options.localEvaluation ? { personalApiKey: BENCH_SECRET_KEY } : {}),
    ...(options.timeoutMs
      ? { featureFlagsRequestTimeoutMs: options.timeoutMs, fetchRetryDelay: options.timeoutMs }
      : {}),
  });
  PostHogNodeGuard.client = posthog;

  @Module({
    imports: [
      FlagsModule.forRoot({
        apiKey: 'phc_bench_key',
        host: options.posthogUrl,
        cacheUrl: options.cacheUrl,
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.localEvaluation ? { secretKey: BENCH_SECRET_KEY } : {}),
      }),
    ],
    controllers: [BenchController],
  })
  class BenchModule implements NestModule {
    configure(consumer: MiddlewareConsumer): void {
      consumer.apply(BenchAuthMiddleware).forRoutes('*path');
    }
  }

  const app: INestApplication = await NestFactory.create(BenchModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    guardTimes: () => structuredClone(guardTimes),
    flushEvents: () => posthog.flush(),
    async definitionsLoaded() {
      const flags = app.get(FlagsService);
      while (flags.status().definitions.source === 'none') await new Promise((resolve) => setTimeout(resolve, 10));
    },
    async close() {
      await app.close();
      await posthog.shutdown(1000);
    },
  };
}
