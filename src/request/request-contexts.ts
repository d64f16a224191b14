import { Inject, Injectable, Logger, type ExecutionContext } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { parseFlagContext } from '../evaluation/flag-context.js';
import type { MaybePromise } from '../evaluation/flag-results.js';
import { UnsendableProperties } from '../evaluation/unsendable-properties.js';
import { FLAGS_CONFIG, LIBRARY_NAME } from '../flags.constants.js';
import type { FlagContext } from '../flags.types.js';
import { LogEpisode } from '../monitor/log-episode.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';
import { messageOf } from '../util/message-of.js';
import type { RequestStore } from './request-store.js';

/**
 * Whom a request's flags are evaluated for: what `contextFactory` names, else the authenticated HTTP user
 * (`request.user.distinctId ?? .id ?? .sub`; headers are never trusted). `undefined` for an anonymous request, or
 * when `contextFactory` throws (logged as an episode).
 */
@Injectable()
export class RequestContexts {
  private readonly logger = new Logger(LIBRARY_NAME);
  private warnedAboutContextType = false;
  /** `contextFactory` throwing: a line when it starts, a summary a minute while it goes on, a line when over. */
  private readonly factoryTrouble = new LogEpisode(
    this.logger,
    {
      started: (why) => `contextFactory failed (${why}); treating such requests as anonymous`,
      lasting: (failures, why) => `contextFactory failed ${failures} more times since the last line (last: ${why})`,
      ended: () => 'contextFactory works again',
    },
    'error',
  );

  constructor(
    @Inject(FLAGS_CONFIG) private readonly config: ResolvedFlagsOptions,
    private readonly unsendable: UnsendableProperties,
  ) {}

  /** The context of the request `execution` serves. */
  of(execution: ExecutionContext): MaybePromise<FlagContext | undefined> {
    if (this.config.contextFactory) return this.fromFactory(execution);
    if (execution.getType() !== 'http') {
      this.warnOnceAboutContextType(execution.getType());
      return undefined;
    }
    const distinctId = userOf(execution.getArgByIndex(0));
    return distinctId ? { distinctId } : undefined;
  }

  /** The context of the request `store` belongs to, from the request and handler it has seen. */
  ofStore(store: RequestStore): MaybePromise<FlagContext | undefined> {
    const execution = new ExecutionContextHost(
      [store.request.deref(), store.response.deref()],
      store.type as never,
      store.handler as never,
    );
    execution.setType('http');
    return this.of(execution);
  }

  private async fromFactory(execution: ExecutionContext): Promise<FlagContext | undefined> {
    try {
      const named = await this.config.contextFactory!(execution);
      const distinctId = typeof named === 'string' ? named : named?.distinctId;
      const flagContext =
        distinctId === undefined || distinctId === '' ? undefined : parseFlagContext(named!, this.unsendable);
      this.factoryTrouble.succeeded();
      return flagContext;
    } catch (error) {
      this.factoryTrouble.failed(messageOf(error));
      return undefined;
    }
  }

  private warnOnceAboutContextType(type: string): void {
    if (this.warnedAboutContextType) return;
    this.warnedAboutContextType = true;
    this.logger.warn(
      `@FeatureFlag on a ${type} handler: no contextFactory tells whom to evaluate for, so the flags are unknown ` +
        '(set contextFactory in FlagsModule options)',
    );
  }
}

/** The authenticated user's distinct id: `request.user.distinctId ?? .id ?? .sub`. Headers are never trusted. */
function userOf(request: { user?: Record<string, unknown> } | undefined): string | undefined {
  const user = request?.user;
  const id = user?.distinctId ?? user?.id ?? user?.sub;
  return typeof id === 'string' || typeof id === 'number' || typeof id === 'bigint' ? String(id) : undefined;
}
