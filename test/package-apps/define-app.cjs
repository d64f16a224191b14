// The application both package tests run, written without decorator syntax so that plain Node runs it.
// `nest` holds the Nest and library exports of the flavour under test.
exports.defineApp = async function defineApp(nest) {
  const { Controller, Get, Module, Req, NestFactory, FeatureFlag, FlagsModule, FlagsService } = nest;

  class FeaturesController {
    constructor(flags) {
      this.flags = flags;
    }
    beta() {
      return { ok: true };
    }
    async checkout(request) {
      return { checkout: await this.flags.getFlag('checkout', request.headers['x-user']) };
    }
  }
  Reflect.defineMetadata('design:paramtypes', [FlagsService], FeaturesController);
  Controller('features')(FeaturesController);
  const method = (name, ...decorators) => {
    const descriptor = Object.getOwnPropertyDescriptor(FeaturesController.prototype, name);
    for (const decorate of decorators) decorate(FeaturesController.prototype, name, descriptor);
  };
  method('beta', Get('beta'), FeatureFlag('beta'));
  method('checkout', Get('checkout'));
  Req()(FeaturesController.prototype, 'checkout', 0);

  class AppModule {}
  Module({
    imports: [
      FlagsModule.forRoot({
        contextFactory: (context) => context.switchToHttp().getRequest().headers['x-user'],
      }),
    ],
    controllers: [FeaturesController],
  })(AppModule);

  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${app.getHttpServer().address().port}`;
  const status = async (path, user) =>
    (await fetch(`${base}${path}`, { headers: user ? { 'x-user': user } : {} })).status;
  const outcome = {
    nest: require('@nestjs/core/package.json').version,
    betaForUser: await status('/features/beta', 'user-1'),
    betaAnonymous: await status('/features/beta'),
    checkout: await (await fetch(`${base}/features/checkout`, { headers: { 'x-user': 'user-1' } })).json(),
    service: await app.get(FlagsService).getAllFlags('user-1'),
    cache: app.get(FlagsService).status().cache,
  };
  await app.close();
  outcome.testing = await testingModuleAnswers(NestFactory, FlagsService);
  outcome.oneCopy = await loadedOnce(FlagsService);
  return outcome;
};

/** The testing subpath, loaded as an application's tests would: FlagsTestingModule answers with its values. */
async function testingModuleAnswers(NestFactory, FlagsService) {
  const { FlagsTestingModule } = require('nestjs-posthog-flags/testing');
  const context = await NestFactory.createApplicationContext(FlagsTestingModule.forRoot({ beta: 'test' }), {
    logger: false,
  });
  try {
    return await context.get(FlagsService).getFlagResult('beta', 'someone');
  } finally {
    await context.close();
  }
}

/**
 * Whether `require` and `import` of each entry point give this application the very classes it runs with: two
 * copies (a dual-package hazard) would make `FlagsService` two injection tokens.
 */
async function loadedOnce(FlagsService) {
  const required = require('nestjs-posthog-flags');
  const imported = await import('nestjs-posthog-flags');
  const requiredTesting = require('nestjs-posthog-flags/testing');
  const importedTesting = await import('nestjs-posthog-flags/testing');
  return (
    required.FlagsService === FlagsService &&
    imported.FlagsService === FlagsService &&
    required.FlagsModule === imported.FlagsModule &&
    requiredTesting.FlagsOverrides === importedTesting.FlagsOverrides
  );
}
