import { Inject, Injectable, Logger, type ExecutionContext } from '@nestjs/common';
import { parseFlagContext } from '../evaluation/flag-context.js';
import type { MaybePromise } from '../evaluation/flag-results.js';
import { UnsendableProperties } from '../evaluation/unsendable-properties.js';
import { FLAGS_CONFIG, LIBRARY_NAME } from '../flags.constants.js';
import type { FlagContext } from '../flags.types.js';
import { LogEpisode } from '../util/log-episode.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';
import { messageOf } from '../util/message-of.js';
import type { RequestStore } from './request-store.js';
import { distinctIdOf, userHolderOf, userPlaceOf } from './transport-user.js';

/**
 * Whom a request's (or message's) flags are evaluated for: what `contextFactory` names, else the transport's
 * authenticated user (see {@link userHolderOf}; headers are never trusted). `undefined` for an anonymous call, or
 * when `contextFactory` throws (logged as an episode, reported for as long as it goes on).
 */
@Injectable()
export class RequestContexts {
  private readonly logger = new Logger(LIBRARY_NAME);
  /** The transports already warned about having no user to read. */
  private readonly warnedTransports = new Set<string>();
  /** `contextFactory` throwing: a line when it starts, a summary a minute while it goes on, a line when over. */
  private readonly factoryTrouble = new LogEpisode(
    this.logger,
    {
      started: (why) => `contextFactory failed (${why}); treating such calls as anonymous`,
      lasting: (failures, why) => `contextFactory failed ${failures} more times since the last line (last: ${why})`,
      ended: () => 'contextFactory works again',
    },
    'error',
  );

  constructor(
    @Inject(FLAGS_CONFIG) private readonly config: ResolvedFlagsOptions,
    private readonly unsendable: UnsendableProperties,
  ) {}

  /** The context of the request or message `execution` serves. */
  of(execution: ExecutionContext): MaybePromise<FlagContext | undefined> {
    return this.config.contextFactory ? this.fromFactory(execution) : this.transportUser(execution);
  }

  /**
   * The context of the request or message `store` belongs to, from the execution context its handler runs with
   * (recorded by the module's global guard); before that (in a middleware, or a global guard ahead of the
   * module's), from the HTTP request's `user` when there is no `contextFactory`.
   * @throws {TypeError} with a `contextFactory`, before any execution context is known: there is none to give it.
   */
  ofStore(store: RequestStore): MaybePromise<FlagContext | undefined> {
    if (store.execution) return this.of(store.execution);
    if (this.config.contextFactory) {
      throw new TypeError(
        "FlagsService: no context given, and the request has not reached its handler's guards yet (a middleware, " +
          "or a global guard ahead of the module's), so contextFactory has no execution context to read; pass a " +
          'context (a distinct id or { distinctId, ... })',
      );
    }
    const distinctId = distinctIdOf({ user: (store.request?.deref() as { user?: unknown } | undefined)?.user });
    return distinctId ? { distinctId } : undefined;
  }

  /** What `contextFactory` names; the transport's user when it names no one (`undefined` or `null`). */
  private async fromFactory(execution: ExecutionContext): Promise<FlagContext | undefined> {
    try {
      const named = await this.config.contextFactory!(execution);
      this.factoryTrouble.succeeded();
      if (named === undefined || named === null) return this.transportUser(execution);
      const distinctId = typeof named === 'string' ? named : named.distinctId;
      return distinctId === undefined || distinctId === '' ? undefined : parseFlagContext(named, this.unsendable);
    } catch (error) {
      this.factoryTrouble.failed(`${messageOf(error)}, on ${execution.getType()}`);
      return undefined;
    }
  }

  /** The transport's authenticated user; warns once per transport that has none to read. */
  private transportUser(execution: ExecutionContext): FlagContext | undefined {
    const holder = userHolderOf(execution);
    if (!holder) this.warnOnceAbout(execution.getType());
    const distinctId = distinctIdOf(holder);
    return distinctId ? { distinctId } : undefined;
  }

  private warnOnceAbout(type: string): void {
    if (this.warnedTransports.has(type)) return;
    this.warnedTransports.add(type);
    this.logger.warn(
      `flags on a ${type} handler: ${userPlaceOf(type)}, and no contextFactory named a user, so such calls count ` +
        'as anonymous (set contextFactory in FlagsModule options; see docs/graphql.md and docs/websockets.md)',
    );
  }
}
