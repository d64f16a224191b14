import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { FLAGS_CONFIG } from '../flags.constants.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';
import { FlagsService } from '../flags.service.js';

/**
 * Binds the module option `openFeature` (a `PostHogFlagsProvider`) to this application's {@link FlagsService}
 * once the application has started, tells it when the application begins to shut down (before the calls to PostHog
 * are ended), and unbinds it once the evaluations in flight may have settled.
 */
@Injectable()
export class FlagsServiceBinder implements OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown {
  private unbind?: () => void;

  constructor(
    @Inject(FLAGS_CONFIG) private readonly config: ResolvedFlagsOptions,
    private readonly flags: FlagsService,
  ) {}

  /** @throws what the binding throws: the provider is bound to another application already. */
  onApplicationBootstrap(): void {
    this.unbind = this.config.openFeature?.bindFlagsService(this.flags);
  }

  /**
   * Nest destroys what depends on a provider before the provider: this binder (through `FlagsService`) before
   * `FlagsUpstream`, which ends the calls to PostHog, so the binding knows before any call is cut.
   */
  onModuleDestroy(): void {
    if (this.unbind) this.config.openFeature?.applicationClosing?.();
  }

  beforeApplicationShutdown(): void {
    this.unbind?.();
    this.unbind = undefined;
  }
}
