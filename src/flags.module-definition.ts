import { ConfigurableModuleBuilder, type DynamicModule, type Provider, type Type } from '@nestjs/common';
import { FlagsConfigError } from './config/flags-config-error.js';
import type { FlagsModuleOptions } from './options/flags-options.js';

/**
 * `forRoot` / `forRootAsync` (`useFactory`, `useClass`, `useExisting`, with `imports` and `inject`) as Nest's
 * `ConfigurableModuleBuilder` makes them, with `isGlobal` (default `true`) beside the options.
 */
export const {
  ConfigurableModuleClass: ConfigurableFlagsModule,
  MODULE_OPTIONS_TOKEN: FLAGS_MODULE_OPTIONS,
  OPTIONS_TYPE: FLAGS_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: FLAGS_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<FlagsModuleOptions>({ moduleName: 'Flags' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createFlagsOptions')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

/** What `FlagsModule.forRoot` takes: the options and `isGlobal`. */
export type FlagsModuleRootOptions = typeof FLAGS_OPTIONS_TYPE;

/**
 * A class that builds the module's options, for `forRootAsync({ useClass })` or `({ useExisting })`; its method is
 * named after the module, as Nest's own (`createThrottlerOptions`, `createCacheOptions`).
 */
export interface FlagsOptionsFactory {
  /** The options `FlagsModule` runs with. */
  createFlagsOptions(): FlagsModuleOptions | Promise<FlagsModuleOptions>;
}

/**
 * What `FlagsModule.forRootAsync` takes: `useFactory` (with `inject`), `useClass` or `useExisting` (a
 * {@link FlagsOptionsFactory}), `imports`, and `isGlobal`.
 */
export type FlagsModuleAsyncOptions = Omit<typeof FLAGS_ASYNC_OPTIONS_TYPE, 'useClass' | 'useExisting'> & {
  /** A class the module instantiates (with its dependencies from `imports`) to build the options. */
  useClass?: Type<FlagsOptionsFactory>;
  /** A provider, exported by a module in `imports`, that builds the options. */
  useExisting?: Type<FlagsOptionsFactory>;
};

/**
 * `forRootAsync` as the builder registers it: a `useClass` or `useExisting` becomes a factory that calls
 * `createFlagsOptions()`, the class itself provided for `useClass`.
 */
export function registerAsync(
  options: FlagsModuleAsyncOptions,
  register: (options: typeof FLAGS_ASYNC_OPTIONS_TYPE) => DynamicModule,
): DynamicModule {
  const { useClass, useExisting, ...rest } = options;
  const factoryClass = useExisting ?? useClass;
  if (!factoryClass) return register(rest);
  const definition = register({ ...rest, inject: [factoryClass], useFactory: optionsFrom });
  const provided: Provider[] = useExisting ? [] : [{ provide: factoryClass, useClass: factoryClass }];
  return { ...definition, providers: [...(definition.providers ?? []), ...provided] };
}

/** What an options class builds through `createFlagsOptions()`. */
function optionsFrom(factory: Partial<FlagsOptionsFactory>): FlagsModuleOptions | Promise<FlagsModuleOptions> {
  if (typeof factory.createFlagsOptions === 'function') return factory.createFlagsOptions();
  throw new FlagsConfigError(
    `forRootAsync: ${factory.constructor.name} (useClass / useExisting) has no createFlagsOptions() method`,
  );
}
