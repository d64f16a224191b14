import {
  Controller,
  ForbiddenException,
  Get,
  Injectable,
  Req,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
  type Type,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  FlagEvaluations,
  FeatureFlag,
  Flags,
  FlagsModule,
  FlagsService,
  type FlagsModuleOptions,
} from '../../src/index.js';
import { CaptureLogger } from './capture-logger.js';
import { TEST_API_KEY, userFromHeader } from './flags-app.js';

/** Stands in for an application's authentication: `x-test-user` becomes `request.user.id`. */
@Injectable()
class TestAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, unknown>; user?: unknown }>();
    const id = request.headers['x-test-user'];
    if (id) request.user = { id };
    return true;
  }
}

/** An authentication guard of a handler's own: `x-late-user` becomes `request.user.id`. */
@Injectable()
export class LateAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, unknown>; user?: unknown }>();
    const id = request.headers['x-late-user'];
    if (id) request.user = { id };
    return true;
  }
}

@Controller('features')
class FeaturesController {
  constructor(private readonly flags: FlagsService) {}

  @Get('beta')
  @FeatureFlag('beta')
  beta(@Flags() flags: FlagEvaluations) {
    return { flags: Object.fromEntries(flags.toMap()) };
  }

  @Get('dark-mode')
  @FeatureFlag('dark-mode')
  darkMode() {
    return { ok: true };
  }

  @Get('checkout-test')
  @FeatureFlag('checkout', { variant: 'test' })
  checkoutTest() {
    return { ok: true };
  }

  @Get('checkout-control')
  @FeatureFlag('checkout', { variant: 'control' })
  checkoutControl() {
    return { ok: true };
  }

  @Get('beta-and-checkout')
  @FeatureFlag(['beta', 'checkout'])
  betaAndCheckout() {
    return { ok: true };
  }

  @Get('beta-and-dark-mode')
  @FeatureFlag(['beta', 'dark-mode'])
  betaAndDarkMode() {
    return { ok: true };
  }

  @Get('kill-switch')
  @FeatureFlag('kill-switch', { defaultValue: true })
  killSwitch() {
    return { ok: true };
  }

  @Get('forbidden')
  @FeatureFlag('dark-mode', { exception: new ForbiddenException('dark mode only') })
  forbidden() {
    return { ok: true };
  }

  /** The mistake the README warns about: `@UseGuards` above `@FeatureFlag` runs after it. */
  @Get('misordered')
  @UseGuards(LateAuthGuard)
  @FeatureFlag('beta')
  misordered() {
    return { ok: true };
  }

  @Get('quiet-beta')
  @FeatureFlag('beta', { sendFeatureFlagEvents: false })
  quietBeta() {
    return { ok: true };
  }

  @Get('stacked')
  @FeatureFlag('beta')
  @FeatureFlag('checkout', { variant: 'test' })
  stacked() {
    return { ok: true };
  }

  @Get('service')
  @FeatureFlag('beta')
  async service(@Req() request: { user: { id: string } }) {
    const id = request.user.id;
    return {
      checkout: await this.flags.getFlag('checkout', id),
      payload: await this.flags.getFlagPayload('beta', id),
      all: await this.flags.getAllFlags(id),
      source: (await this.flags.getFlagResult('dark-mode', id))?.source,
    };
  }
}

@Controller('beta-area')
@FeatureFlag('beta')
class BetaAreaController {
  @Get()
  index() {
    return { ok: true };
  }

  @Get('checkout-test')
  @FeatureFlag('checkout', { variant: 'test' })
  checkoutTest() {
    return { ok: true };
  }

  @Get('dark-mode')
  @FeatureFlag('dark-mode')
  darkMode() {
    return { ok: true };
  }
}

/** The HTTP platforms the guard is tested on. */
export type Platform = 'express' | 'fastify';

/** An initialised HTTP application with guarded routes on `platform`, and its captured logs. */
export async function startGuardedApp(
  platform: Platform,
  options: FlagsModuleOptions,
  logs = new CaptureLogger(),
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [FlagsModule.forRoot({ apiKey: TEST_API_KEY, timeoutMs: 500, retries: 0, ...options })],
    controllers: [FeaturesController, BetaAreaController],
    providers: [{ provide: APP_GUARD, useClass: TestAuthGuard }],
  })
    .setLogger(logs)
    .compile();
  return initApp(moduleRef, platform);
}

/**
 * An initialised Express application serving `controllers`, the module on PostHog at `host` with the test API key,
 * `retries: 0` and each request's user from its `x-user` header, then `options`; its logs in `logs`.
 */
export async function startRouteApp(
  host: string,
  controllers: Type[],
  options: FlagsModuleOptions = {},
  logs = new CaptureLogger(),
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      FlagsModule.forRoot({ apiKey: TEST_API_KEY, host, retries: 0, contextFactory: userFromHeader, ...options }),
    ],
    controllers,
  })
    .setLogger(logs)
    .compile();
  return initApp(moduleRef, 'express');
}

/** The compiled module as an HTTP application on `platform`, initialised (and, on Fastify, ready). */
export async function initApp(moduleRef: TestingModule, platform: Platform): Promise<INestApplication> {
  if (platform === 'express') {
    const app = moduleRef.createNestApplication();
    await app.init();
    return app;
  }
  const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}
