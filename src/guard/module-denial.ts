import type { Provider } from '@nestjs/common';
import { FLAGS_CONFIG } from '../flags.constants.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';
import type { FlagDenial } from '../options/exception-option.js';

/**
 * The module's `exception` option, for the `@FeatureFlag` guard. Nest builds the guard in the application's own
 * modules, so the module exports this, and not its whole configuration (which holds the keys).
 */
export class ModuleDenial {
  constructor(readonly exception: FlagDenial | undefined) {}
}

/** {@link ModuleDenial} from the module's configuration. */
export const MODULE_DENIAL: Provider = {
  provide: ModuleDenial,
  useFactory: (config: ResolvedFlagsOptions) => new ModuleDenial(config.exception),
  inject: [FLAGS_CONFIG],
};
