// The OpenFeature Nest SDK over the packed library's provider, written without decorator syntax so that plain Node
// runs it: @RequireFlagsEnabled gates routes, @BooleanFeatureFlag / @StringFeatureFlag parameters resolve with the
// request's context (x-user). Run once per HTTP platform; `nest` holds the Nest exports of the application.
const {
  OpenFeatureModule,
  RequireFlagsEnabled,
  BooleanFeatureFlag,
  StringFeatureFlag,
} = require('@openfeature/nestjs-sdk');
const { FlagsModule } = require('nestjs-posthog-flags');
const { PostHogFlagsProvider } = require('nestjs-posthog-flags/openfeature');

exports.runOpenFeatureApp = async function runOpenFeatureApp(nest, adapter) {
  const { Controller, Get, Module, NestFactory } = nest;
  const posthog = new PostHogFlagsProvider();

  class FeaturesController {
    beta() {
      return { ok: true };
    }
    darkMode() {
      return { ok: true };
    }
    async flags(beta, checkout) {
      const [betaDetails, checkoutDetails] = await Promise.all([settled(beta), settled(checkout)]);
      return {
        beta: betaDetails.value,
        betaReason: betaDetails.reason,
        checkout: checkoutDetails.value,
        variant: checkoutDetails.variant,
        source: checkoutDetails.flagMetadata.source,
      };
    }
  }
  Controller('of')(FeaturesController);
  const method = (name, ...decorators) => {
    const descriptor = Object.getOwnPropertyDescriptor(FeaturesController.prototype, name);
    for (const decorate of decorators) decorate(FeaturesController.prototype, name, descriptor);
  };
  method('beta', Get('beta'), RequireFlagsEnabled({ flags: [{ flagKey: 'beta' }] }));
  method('darkMode', Get('dark-mode'), RequireFlagsEnabled({ flags: [{ flagKey: 'dark-mode' }] }));
  method('flags', Get('flags'));
  BooleanFeatureFlag({ flagKey: 'beta', defaultValue: false })(FeaturesController.prototype, 'flags', 0);
  StringFeatureFlag({ flagKey: 'checkout', defaultValue: 'control' })(FeaturesController.prototype, 'flags', 1);

  class AppModule {}
  Module({
    imports: [
      FlagsModule.forRoot({ openFeature: posthog }),
      OpenFeatureModule.forRoot({
        defaultProvider: posthog,
        contextFactory: (context) => {
          const user = context.switchToHttp().getRequest().headers['x-user'];
          return user ? { targetingKey: user } : {};
        },
      }),
    ],
    controllers: [FeaturesController],
  })(AppModule);

  const app = await NestFactory.create(AppModule, adapter, { logger: false });
  await app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${app.getHttpServer().address().port}`;
  const get = (path, user) => fetch(`${base}${path}`, { headers: user ? { 'x-user': user } : {} });
  try {
    return {
      betaForUser: (await get('/of/beta', 'user-1')).status,
      betaAnonymous: (await get('/of/beta')).status,
      darkModeForUser: (await get('/of/dark-mode', 'user-1')).status,
      flagsForUser: await (await get('/of/flags', 'user-1')).json(),
      flagsAnonymous: await (await get('/of/flags')).json(),
    };
  } finally {
    await app.close();
  }
};

/** The details a flag parameter resolves to (the Nest SDK hands an Observable of them). */
function settled(observable) {
  return new Promise((resolve, reject) => observable.subscribe({ next: resolve, error: reject }));
}
