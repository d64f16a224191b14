import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { FLAGS_CONFIG } from './flags.constants.js';
import type { ResolvedFlagsOptions } from './options/flags-options.js';
import { FlagsService } from './flags.service.js';

/**
 * Binds the module option `openFeature` (a `PostHogFlagsProvider`) to this application's {@link FlagsService}
 * once the application has started, and unbinds it when the application begins to shut down.
 */
@Injectable()
export class FlagsServiceBinder implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private unbind?: () => void;

  constructor(
    @Inject(FLAGS_CONFIG) private readonly config: ResolvedFlagsOptions,
    private readonly flags: FlagsService,
  ) {}

  /** @throws what the binding throws: the provider is bound to another application already. */
  onApplicationBootstrap(): void {
    this.unbind = this.config.openFeature?.bindFlagsService(this.flags);
  }

  beforeApplicationShutdown(): void {
    this.unbind?.();
    this.unbind = undefined;
  }
}
