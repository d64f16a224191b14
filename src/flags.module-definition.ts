import { ConfigurableModuleBuilder } from '@nestjs/common';
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
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

/** What `FlagsModule.forRoot` takes: the options and `isGlobal`. */
export type FlagsModuleRootOptions = typeof FLAGS_OPTIONS_TYPE;

/**
 * What `FlagsModule.forRootAsync` takes: `useFactory` (with `inject`), `useClass` or `useExisting` (a class with
 * `create(): FlagsModuleOptions`), `imports`, and `isGlobal`.
 */
export type FlagsModuleAsyncOptions = typeof FLAGS_ASYNC_OPTIONS_TYPE;
