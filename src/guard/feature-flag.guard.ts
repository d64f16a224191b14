import { Inject, Injectable, Logger, NotFoundException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { contextKey, parseFlagContext } from '../evaluation/flag-context.js';
import { FLAGS_CONFIG, LIBRARY_NAME } from '../flags.constants.js';
import { LogEpisode } from '../monitor/log-episode.js';
import { messageOf } from '../util/message-of.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';
import { FlagsEvaluator } from '../evaluation/flags-evaluator.js';
import { ExposureQueue } from '../exposures/exposure-queue.js';
import type { FlagContext, FlagResult } from '../flags.types.js';
import { rememberedFlags, rememberFlags } from '../request/request-flags.js';
import { FLAG_REQUIREMENTS, type FlagRequirement } from './flag-requirement.js';
import { guardsDeclaredAfter } from './guard-order.js';
import { responseClosed } from './response-closed.js';
import { routeNotFound } from './route-not-found.js';

/** The HTTP side of an execution context (Nest does not export its name from the package root). */
type HttpArguments = ReturnType<ExecutionContext['switchToHttp']>;

/**
 * Enforces `@FeatureFlag` requirements. Evaluates every flag once per request and context, kept for `@Flags()`
 * and held for the handler's `FlagsService` calls until the response has been sent (at most 1 s). Never fails a
 * request with a 500 for a flag reason: what is not known takes the requirement's `defaultValue`.
 */
@Injectable()
export class FeatureFlagGuard implements CanActivate {
  private readonly logger = new Logger(LIBRARY_NAME);
  /** The requirements of each handler of each class (the class's and the handler's own), read once. */
  private readonly requirements = new WeakMap<object, WeakMap<object, HandlerFlags>>();
  private warnedAboutContextType = false;
  /** `contextFactory` throwing: a line when it starts, a summary a minute while it goes on, a line when over. */
  private readonly factoryTrouble = new LogEpisode(
    this.logger,
    {
      started: (why) => `@FeatureFlag: contextFactory failed (${why}); treating such requests as anonymous`,
      lasting: (failures, why) =>
        `@FeatureFlag: contextFactory failed ${failures} more times since the last line (last: ${why})`,
      ended: () => '@FeatureFlag: contextFactory works again',
    },
    'error',
  );
  /** The default denial outside HTTP, made once: an exception's stack trace is costly and says nothing here. */
  private readonly notFound = new NotFoundException();
  /** Handlers already checked for guards declared after this one (warned about once). */
  private readonly orderChecked = new WeakSet<object>();

  constructor(
    private readonly reflector: Reflector,
    private readonly evaluator: FlagsEvaluator,
    private readonly exposures: ExposureQueue,
    @Inject(FLAGS_CONFIG) private readonly config: ResolvedFlagsOptions,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /**
   * Whether the request may go on; throws the requirement's exception when not. Synchronous when the flags are at
   * hand without waiting (a `fresh` hit in the memory cache): no promise on that path.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const { requirements, keys } = this.requirementsOf(context);
    if (requirements.length === 0) return true;
    const http = context.getType() === 'http' ? context.switchToHttp() : undefined;
    const results = this.resultsFor(context, http, keys);
    return results instanceof Promise
      ? results.then((answered) => this.decide(requirements, answered, http))
      : this.decide(requirements, results, http);
  }

  /** `true` when every requirement passes; else throws the first failed one's exception. */
  private decide(
    requirements: FlagRequirement[],
    results: Map<string, FlagResult> | undefined,
    http: HttpArguments | undefined,
  ): boolean {
    for (const requirement of requirements) {
      if (!isSatisfied(requirement, results)) throw requirement.exception ?? this.config.exception ?? this.denial(http);
    }
    return true;
  }

  /** What a denied request gets by default: over HTTP, the very 404 of a route that does not exist. */
  private denial(http: HttpArguments | undefined): NotFoundException {
    return http ? routeNotFound(this.adapterHost, http.getRequest()) : this.notFound;
  }

  /** The handler's requirements (its class's and its own) and the flag keys they check, read once per handler. */
  private requirementsOf(context: ExecutionContext): HandlerFlags {
    const [type, handler] = [context.getClass(), context.getHandler()];
    let ofClass = this.requirements.get(type);
    if (!ofClass) this.requirements.set(type, (ofClass = new WeakMap()));
    let flags = ofClass.get(handler);
    if (!flags) {
      const requirements = this.reflector
        .getAll<(FlagRequirement[] | undefined)[]>(FLAG_REQUIREMENTS, [type, handler])
        .flatMap((list) => list ?? []);
      const exposed = requirements.filter((requirement) => requirement.sendEvent !== false);
      flags = { requirements, keys: [...new Set(exposed.flatMap((requirement) => requirement.keys))] };
      ofClass.set(handler, flags);
    }
    return flags;
  }

  /** Every flag for the request's user, evaluated once per request; `undefined` for an anonymous request. */
  private resultsFor(
    context: ExecutionContext,
    http: HttpArguments | undefined,
    keys: readonly string[],
  ): MaybeResults | Promise<MaybeResults> {
    if (!this.config.contextFactory) {
      return this.resultsOf(context, http, keys, this.flagContextOfRequest(context, http));
    }
    return this.flagContextFromFactory(context).then((flagContext) => this.resultsOf(context, http, keys, flagContext));
  }

  /**
   * Every flag for `flagContext` (none for an anonymous request), the exposures of `keys` sent: over HTTP, once per
   * request and context, kept on the request for `@Flags()` and held for the handler's calls until the response
   * has been sent.
   */
  private resultsOf(
    context: ExecutionContext,
    http: HttpArguments | undefined,
    keys: readonly string[],
    flagContext: FlagContext | undefined,
  ): MaybeResults | Promise<MaybeResults> {
    if (!flagContext) {
      this.warnOnceAboutGuardOrder(context);
      return undefined;
    }
    const contextId = contextKey(flagContext);
    if (!http) return this.everyFlag(flagContext, contextId, keys);
    const request = http.getRequest();
    const known = rememberedFlags(request, contextId);
    if (known) return known;
    const results = this.everyFlag(flagContext, contextId, keys, () => responseClosed(http.getResponse()));
    if (results instanceof Promise) {
      return results.then((answered) => {
        rememberFlags(request, contextId, answered);
        return answered;
      });
    }
    rememberFlags(request, contextId, results);
    return results;
  }

  /**
   * Every flag for `flagContext`, the exposures of `exposed` sent: at once when the evaluation answers at once,
   * held for the handler until `holdUntil()` settles.
   */
  private everyFlag(
    flagContext: FlagContext,
    contextId: string,
    exposed: readonly string[],
    holdUntil?: () => PromiseLike<unknown>,
  ): Map<string, FlagResult> | Promise<Map<string, FlagResult>> {
    const answer = this.evaluator.evaluate(flagContext, contextId, undefined, { holdUntil });
    if (answer instanceof Promise) return answer.then(({ results }) => this.expose(results, flagContext, exposed));
    return this.expose(answer.results, flagContext, exposed);
  }

  /** The results, the exposures of the `exposed` keys sent. */
  private expose(
    results: Map<string, FlagResult>,
    flagContext: FlagContext,
    exposed: readonly string[],
  ): Map<string, FlagResult> {
    for (const key of exposed) {
      const result = results.get(key);
      if (result) this.exposures.exposed(flagContext, result);
    }
    return results;
  }

  /** Whom `contextFactory` says the request is for; `undefined` (logged) when it throws or names no one usable. */
  private async flagContextFromFactory(context: ExecutionContext): Promise<FlagContext | undefined> {
    try {
      const named = await this.config.contextFactory!(context);
      const distinctId = typeof named === 'string' ? named : named?.distinctId;
      const flagContext = distinctId === undefined || distinctId === '' ? undefined : parseFlagContext(named!);
      this.factoryTrouble.succeeded();
      return flagContext;
    } catch (error) {
      this.factoryTrouble.failed(messageOf(error));
      return undefined;
    }
  }

  /** The authenticated HTTP user, without a `contextFactory`; `undefined` (warned once) outside HTTP. */
  private flagContextOfRequest(context: ExecutionContext, http: HttpArguments | undefined): FlagContext | undefined {
    if (!http) {
      this.warnOnceAboutContextType(context.getType());
      return undefined;
    }
    const distinctId = userOf(http.getRequest());
    return distinctId ? { distinctId } : undefined;
  }

  /**
   * For a request with no one to evaluate for: warns once per handler when guards are declared to run after this
   * one (written above `@FeatureFlag`): an authentication guard there has not set `request.user` yet, so every
   * user would be denied.
   */
  private warnOnceAboutGuardOrder(context: ExecutionContext): void {
    const handler = context.getHandler();
    if (this.orderChecked.has(handler)) return;
    this.orderChecked.add(handler);
    const later = guardsDeclaredAfter(context.getClass(), handler, FeatureFlagGuard);
    if (later.length === 0) return;
    this.logger.warn(
      `@FeatureFlag on ${context.getClass().name}.${handler.name} runs before ${later.join(', ')}, which may not have ` +
        'set request.user yet, so its users count as anonymous: write @FeatureFlag above @UseGuards(...) ' +
        '(decorators apply bottom-up), or register authentication as a global guard',
    );
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

/** A handler's requirements, and the flag keys whose exposures the guard sends (all checked, unless opted out). */
interface HandlerFlags {
  requirements: FlagRequirement[];
  keys: string[];
}

/** What the guard decides on: every flag's result, or `undefined` for an anonymous request. */
type MaybeResults = Map<string, FlagResult> | undefined;

/** The authenticated user's distinct id: `request.user.distinctId ?? .id ?? .sub`. Headers are never trusted. */
function userOf(request: { user?: Record<string, unknown> } | undefined): string | undefined {
  const user = request?.user;
  const id = user?.distinctId ?? user?.id ?? user?.sub;
  return typeof id === 'string' || typeof id === 'number' || typeof id === 'bigint' ? String(id) : undefined;
}

/** Whether every key of the requirement passes; an unknown flag takes `defaultValue`. */
function isSatisfied(requirement: FlagRequirement, results: Map<string, FlagResult> | undefined): boolean {
  return requirement.keys.every((key) => {
    const result = results?.get(key);
    if (!result) return requirement.defaultValue ?? false;
    return requirement.variant === undefined ? result.enabled : result.variant === requirement.variant;
  });
}
