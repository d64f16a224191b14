// A Nest application on Fastify, in a process of its own on the built package (dist/esm/), plain Node: Fastify's
// inject() (light-my-request) needs the ESM-only cookie@2, which jest cannot load on Node 20. The route for bob
// has the app serve another route for carol through app.inject(), from inside bob's request (so in its async
// context); prints what both saw as JSON. Decorators are applied by hand (plain JavaScript has none).
import 'reflect-metadata';
import { Controller, Get, Inject, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Flags, FlagsModule, FlagsService } from '../../dist/esm/index.js';

/** The application, once created (the outer handler injects into it). */
let app;

class NestedController {
  constructor(flags) {
    this.flags = flags;
  }

  /** bob's route: reads bob's flags, has the app serve `/nested/inner` for carol, then reads bob's again. */
  async outer(flags) {
    const before = { distinctId: flags.distinctId, payload: flags.getFlagPayload('beta') };
    const reply = await app.inject({ method: 'GET', url: '/nested/inner', headers: { 'x-user': 'carol' } });
    return {
      before,
      inner: reply.json(),
      after: {
        distinctId: flags.distinctId,
        payload: flags.getFlagPayload('beta'),
        service: await this.flags.getFlagPayload('beta'),
        evaluated: (await this.flags.evaluateFlags()).distinctId,
      },
    };
  }

  /** carol's route: her @Flags() snapshot and the calls without a context. */
  async inner(flags) {
    return {
      distinctId: flags.distinctId,
      payload: flags.getFlagPayload('beta'),
      service: await this.flags.getFlagPayload('beta'),
      evaluated: (await this.flags.evaluateFlags()).distinctId,
    };
  }
}

Inject(FlagsService)(NestedController, undefined, 0);
for (const [method, path] of [
  ['outer', 'nested/outer'],
  ['inner', 'nested/inner'],
]) {
  const prototype = NestedController.prototype;
  Flags()(prototype, method, 0);
  Get(path)(prototype, method, Object.getOwnPropertyDescriptor(prototype, method));
}
Controller()(NestedController);

class AppModule {}
Module({
  imports: [
    FlagsModule.forRoot({
      apiKey: process.env.POSTHOG_API_KEY,
      host: process.env.POSTHOG_HOST,
      cacheUrl: 'memory://local',
      retries: 0,
      contextFactory: (context) => context.switchToHttp().getRequest().headers['x-user'],
    }),
  ],
  controllers: [NestedController],
})(AppModule);

app = await NestFactory.create(AppModule, new FastifyAdapter(), { logger: false });
await app.init();
const reply = await app.inject({ method: 'GET', url: '/nested/outer', headers: { 'x-user': 'bob' } });
await app.close();
process.stdout.write(JSON.stringify({ status: reply.statusCode, body: reply.json() }));
