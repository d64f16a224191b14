import { Logger } from '@nestjs/common';
import {
  ErrorCode,
  OpenFeatureEventEmitter,
  ProviderEvents,
  type EvaluationContext,
  type JsonValue,
  type Provider,
  type ProviderMetadata,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import { FlagsConfigError } from '../config/flags-config-error.js';
import { readInteger } from '../config/read-integer.js';
import { LIBRARY_NAME } from '../flags.constants.js';
import type { FlagReadOptions } from '../evaluation/flag-read-options.js';
import type { FlagsService } from '../flags.service.js';
import type { UnresolvedReason } from '../local/engine/unresolved-reason.js';
import type { FlagsServiceBinding } from '../options/flags-service-binding.js';
import { isRecord } from '../util/is-record.js';
import { kindOf } from '../util/kind-of.js';
import { messageOf } from '../util/message-of.js';
import { flagContextOf, isContextProblem } from './evaluation-context.js';
import { ProviderHealth } from './provider-health.js';
import { detailsOf, errorDetails, type FlagType } from './resolution-details.js';

/** Options of a {@link PostHogFlagsProvider}. */
export interface PostHogFlagsProviderOptions {
  /**
   * Whether OpenFeature evaluations send `$feature_flag_called` exposure events, as `isEnabled` and `getFlag` do
   * (deduplicated per user, flag and value; never when the module's `sendFeatureFlagEvents` is `false`).
   * @default true
   */
  sendFeatureFlagEvents?: boolean;
  /**
   * Milliseconds `initialize()` waits for the application to bind the provider (start with `FlagsModule.forRoot({
   * openFeature })`) before it fails (`PROVIDER_ERROR`; the provider becomes ready when bound later).
   * @default 30000
   */
  bindTimeoutMs?: number;
}

/** The application the provider is bound to: its service and what follows the service's health. */
interface Binding {
  flags: FlagsService;
  health: ProviderHealth;
  /** The application began to shut down: its calls to PostHog are ended, none is made. */
  closing: boolean;
}

/** A wait for the binding: `initialize()`'s. */
interface BindWaiter {
  resolve: () => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * An OpenFeature server provider resolving through an application's `FlagsService`: every source (local, remote,
 * cache, fallback, override), the fallback cache in PostHog's outages, exposures. Give the same instance to
 * `FlagsModule.forRoot({ openFeature })`, which binds it to the application's service at startup, and to
 * OpenFeature (`OpenFeatureModule.forRoot({ defaultProvider })`, or `OpenFeature.setProviderAndWait`):
 * `initialize()` resolves once it is bound. One instance per application.
 */
export class PostHogFlagsProvider implements Provider, FlagsServiceBinding {
  readonly metadata: ProviderMetadata = { name: LIBRARY_NAME };
  readonly runsOn = 'server' as const;
  /** `PROVIDER_STALE`, `PROVIDER_READY`, `PROVIDER_CONFIGURATION_CHANGED` and `PROVIDER_ERROR`, for the SDK. */
  readonly events = new OpenFeatureEventEmitter();
  /** How each resolution reads its flag: with the exposure, unless the option turned it off. */
  private readonly readOptions: FlagReadOptions;
  private readonly bindTimeoutMs: number;
  private binding?: Binding;
  private readonly waiters = new Set<BindWaiter>();
  /** Whether OpenFeature was told of an error (a bind timeout, an unbinding): binding again says ready. */
  private errorAnnounced = false;

  /** @throws {FlagsConfigError} for options of the wrong type. */
  constructor(options: PostHogFlagsProviderOptions = {}) {
    if (!isRecord(options)) throw new FlagsConfigError(`PostHogFlagsProvider options must be an object`);
    const { sendFeatureFlagEvents = true, bindTimeoutMs = 30_000 } = options;
    if (typeof sendFeatureFlagEvents !== 'boolean') {
      throw new FlagsConfigError(
        `PostHogFlagsProvider sendFeatureFlagEvents must be a boolean, got ${kindOf(sendFeatureFlagEvents)}`,
      );
    }
    this.readOptions = sendFeatureFlagEvents ? {} : { sendFeatureFlagEvents: false };
    try {
      this.bindTimeoutMs = readInteger(bindTimeoutMs, { min: 1, max: 2 ** 31 - 1, unit: 'milliseconds' });
    } catch (error) {
      throw new FlagsConfigError(`PostHogFlagsProvider bindTimeoutMs ${messageOf(error)}`);
    }
  }

  /**
   * Binds the provider to an application's service; `FlagsModule` calls it at startup with the option
   * `openFeature`. Returns the unbinding, which `FlagsModule` calls at shutdown.
   * @throws {FlagsConfigError} when it is bound to an application already.
   */
  bindFlagsService(flags: FlagsService): () => void {
    if (this.binding) {
      throw new FlagsConfigError(
        'this PostHogFlagsProvider is bound to another application already: give each application its own ' +
          'instance (new PostHogFlagsProvider())',
      );
    }
    const binding: Binding = { flags, health: new ProviderHealth(flags, this.events), closing: false };
    this.binding = binding;
    for (const waiter of this.waiters) waiter.resolve();
    if (this.errorAnnounced) {
      this.errorAnnounced = false;
      this.events.emit(ProviderEvents.Ready, { message: 'bound to the application' });
    }
    return () => this.unbind(binding);
  }

  /**
   * Called by `FlagsModule` when the application begins to shut down, before it ends its calls to PostHog: an
   * evaluation left without an answer from then on is `PROVIDER_NOT_READY`, not a missing flag.
   * @internal
   */
  applicationClosing(): void {
    if (this.binding) this.binding.closing = true;
  }

  /** Resolves once the provider is bound to an application (at once when it is). Called by OpenFeature. */
  initialize(): Promise<void> {
    if (this.binding) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: BindWaiter = {
        resolve: () => this.settle(waiter, resolve),
        reject: (error) => this.settle(waiter, () => reject(error)),
        timer: setTimeout(() => {
          this.errorAnnounced = true;
          waiter.reject(notBoundError(`within ${this.bindTimeoutMs} ms`));
        }, this.bindTimeoutMs),
      };
      waiter.timer.unref();
      this.waiters.add(waiter);
    });
  }

  /**
   * Called by OpenFeature when the provider is replaced or OpenFeature closes: stops waiting to be bound. A wait
   * ends quietly (OpenFeature would print a rejection's stack on `console.error`), with one warning line naming the
   * fix; evaluations of the unbound provider still answer `PROVIDER_NOT_READY`.
   */
  // eslint-disable-next-line @typescript-eslint/require-await -- a Promise by contract; async makes a throw a rejection
  async onClose(): Promise<void> {
    if (this.waiters.size === 0) return;
    new Logger(LIBRARY_NAME).warn(`PostHogFlagsProvider closed before it was bound to an application: ${HOW_TO_BIND}`);
    for (const waiter of this.waiters) waiter.resolve();
  }

  resolveBooleanEvaluation(
    flagKey: string,
    defaultValue: boolean,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<boolean>> {
    return this.resolve(flagKey, 'boolean', defaultValue, context);
  }

  resolveStringEvaluation(
    flagKey: string,
    defaultValue: string,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<string>> {
    return this.resolve(flagKey, 'string', defaultValue, context);
  }

  resolveNumberEvaluation(
    flagKey: string,
    defaultValue: number,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<number>> {
    return this.resolve(flagKey, 'number', defaultValue, context);
  }

  resolveObjectEvaluation<T extends JsonValue>(
    flagKey: string,
    defaultValue: T,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<T>> {
    return this.resolve(flagKey, 'object', defaultValue, context);
  }

  /** The flag's details for the context, through the bound service; never rejects. */
  private async resolve<T>(
    key: string,
    type: FlagType,
    defaultValue: T,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<T>> {
    const binding = this.binding;
    if (!binding) return errorDetails(defaultValue, ErrorCode.PROVIDER_NOT_READY, notBoundError('').message);
    const flagContext = flagContextOf(context ?? {});
    if (isContextProblem(flagContext)) return errorDetails(defaultValue, flagContext.errorCode, flagContext.message);
    try {
      const snapshot = await binding.flags.evaluateFlags(flagContext, { flagKeys: [key] });
      const result = snapshot.getFlagResult(key, this.readOptions);
      if (result) return detailsOf(result, type, defaultValue);
      const reason = Object.hasOwn(snapshot.unresolvedFlags, key) ? snapshot.unresolvedFlags[key] : undefined;
      return unknownDetails(binding, key, reason, defaultValue);
    } catch (error) {
      return errorDetails(defaultValue, ErrorCode.GENERAL, messageOf(error));
    }
  }

  private unbind(binding: Binding): void {
    if (this.binding !== binding) return;
    binding.health.close();
    this.binding = undefined;
    this.errorAnnounced = true;
    this.events.emit(ProviderEvents.Error, { message: 'unbound: the application shut down' });
  }

  private settle(waiter: BindWaiter, settle: () => void): void {
    clearTimeout(waiter.timer);
    this.waiters.delete(waiter);
    settle();
  }
}

/**
 * Why nothing is known of the flag for the user, as OpenFeature's error. `FLAG_NOT_FOUND` only when PostHog answered
 * without naming it. A flag left unresolved is `GENERAL`, saying what happened: local evaluation could not decide it,
 * PostHog named it and could not compute it (or its answer was incomplete), or PostHog is not answering; it is
 * `PROVIDER_NOT_READY` once the application is shutting down (its calls to PostHog are ended, and the provider is
 * about to be unbound).
 */
function unknownDetails<T>(
  binding: Binding,
  key: string,
  reason: UnresolvedReason | undefined,
  defaultValue: T,
): ResolutionDetails<T> {
  const uncached = `no last known value of "${key}" is cached for this user`;
  if (reason !== undefined && reason !== 'unavailable') {
    const why = `local evaluation could not decide flag "${key}" (${reason}) and PostHog did not answer it`;
    return errorDetails(defaultValue, ErrorCode.GENERAL, `${why}; ${uncached}`);
  }
  if (reason === 'unavailable' && binding.closing) {
    return errorDetails(
      defaultValue,
      ErrorCode.PROVIDER_NOT_READY,
      `the application is shutting down: PostHog was not asked for "${key}" or the call was ended, and ${uncached}`,
    );
  }
  const status = binding.flags.status();
  if (status.upstream !== 'ok') {
    const why = status.lastFailure ? `${status.lastFailure.reason}, circuit ${status.circuit}` : status.upstream;
    return errorDetails(defaultValue, ErrorCode.GENERAL, `PostHog is not answering (${why}) and ${uncached}`);
  }
  if (reason === 'unavailable') {
    return errorDetails(
      defaultValue,
      ErrorCode.GENERAL,
      `PostHog did not answer flag "${key}" for this context (it failed to compute it, or its answer was ` +
        `incomplete) and ${uncached}`,
    );
  }
  return errorDetails(defaultValue, ErrorCode.FLAG_NOT_FOUND, `flag "${key}" is not known for this context`);
}

/** How a provider gets bound, for the messages of one that is not. */
const HOW_TO_BIND =
  'pass it to FlagsModule.forRoot({ openFeature }) (in tests, FlagsTestingModule.forRoot(values, { openFeature })) ' +
  'and start the application (one instance per application)';

function notBoundError(when: string): Error {
  const suffix = when ? ` ${when}` : '';
  return new Error(`PostHogFlagsProvider is not bound to an application${suffix}: ${HOW_TO_BIND}`);
}
