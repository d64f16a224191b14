import { Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import type { FlagEvaluations } from '../evaluation/flag-evaluations.js';
import type { FlagReadOptions } from '../evaluation/flag-read-options.js';
import { LIBRARY_NAME } from '../flags.constants.js';
import { ContextSnapshots } from '../request/context-snapshots.js';
import { FLAG_REQUIREMENTS, type FlagRequirement } from './flag-requirement.js';
import { guardsDeclaredAfter } from './guard-order.js';
import { denialOf } from './flag-denial.js';
import { ModuleDenial } from './module-denial.js';

/**
 * Enforces `@FeatureFlag` requirements on the request's snapshot (of the flags its route reads, the requirements'
 * among them: see `RouteFlags`): one evaluation per request and context, shared with `@Flags()` and the handler's
 * `FlagsService` calls. Reading a requirement's flag sends its
 * exposure (unless `sendFeatureFlagEvents: false`). Never fails a request with a 500 for a flag reason: what is
 * not known takes the requirement's `defaultValue`.
 */
@Injectable()
export class FeatureFlagGuard implements CanActivate {
  private readonly logger = new Logger(LIBRARY_NAME);
  /** The requirements of each handler of each class (the class's and the handler's own), read once. */
  private readonly requirements = new WeakMap<object, WeakMap<object, HandlerFlags>>();
  /** Handlers already checked for guards declared after this one (warned about once). */
  private readonly orderChecked = new WeakSet<object>();

  constructor(
    private readonly reflector: Reflector,
    private readonly evaluations: ContextSnapshots,
    private readonly moduleDenial: ModuleDenial,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /**
   * Whether the request may go on; throws the requirement's exception when not. Synchronous when the flags are at
   * hand without waiting (a `fresh` hit in the memory cache): no promise on that path.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const { requirements, keys } = this.requirementsOf(context);
    if (requirements.length === 0) return true;
    const snapshot = this.evaluations.forGuard(context, keys);
    return snapshot instanceof Promise
      ? this.decideOnceAnswered(context, requirements, snapshot)
      : this.decide(context, requirements, snapshot);
  }

  /**
   * {@link decide} once the snapshot is there. (The continuation lives here, not in `canActivate`: a function whose
   * variables a closure captures allocates their context on every call, the synchronous path's included.)
   */
  private decideOnceAnswered(
    context: ExecutionContext,
    requirements: FlagRequirement[],
    snapshot: Promise<FlagEvaluations | undefined>,
  ): Promise<boolean> {
    return snapshot.then((answered) => this.decide(context, requirements, answered));
  }

  /**
   * `true` when every requirement passes; else throws the first failed one's exception (see {@link denialOf}), or
   * rejects with it when the transport's exception class is still being loaded. Every requirement's flags are read
   * first, so that each sends its exposure.
   */
  private decide(
    context: ExecutionContext,
    requirements: FlagRequirement[],
    snapshot: FlagEvaluations | undefined,
  ): boolean | Promise<boolean> {
    if (!snapshot) this.warnOnceAboutGuardOrder(context);
    let failed: FlagRequirement | undefined;
    for (const requirement of requirements) {
      if (!isSatisfied(requirement, snapshot)) failed ??= requirement;
    }
    if (!failed) return true;
    const denial = denialOf(context, this.adapterHost, failed.exception, this.moduleDenial.exception);
    if (denial instanceof Promise) return rejectWith(denial);
    throw denial;
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
      flags = { requirements, keys: [...new Set(requirements.flatMap((requirement) => requirement.keys))] };
      ofClass.set(handler, flags);
    }
    return flags;
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
}

/** A promise rejected with what `denial` resolves to. */
async function rejectWith(denial: Promise<Error>): Promise<never> {
  throw await denial;
}

/** A handler's requirements (its class's and its own). */
interface HandlerFlags {
  requirements: FlagRequirement[];
  /** The flag keys the requirements check, each once. */
  keys: readonly string[];
}

/**
 * A requirement's read that sends its exposure as the module says, and one that sends none
 * (`sendFeatureFlagEvents: false`).
 */
const MODULE_READ: FlagReadOptions = Object.freeze({});
const SILENT_READ: FlagReadOptions = Object.freeze({ sendFeatureFlagEvents: false });

/**
 * Whether every key of the requirement passes (each read, so each sends its exposure unless the requirement opts
 * out); an unknown flag takes `defaultValue`.
 */
function isSatisfied(requirement: FlagRequirement, snapshot: FlagEvaluations | undefined): boolean {
  const fallback = requirement.defaultValue ?? false;
  const read = requirement.sendFeatureFlagEvents === false ? SILENT_READ : MODULE_READ;
  let satisfied = true;
  for (const key of requirement.keys) {
    const value = snapshot?.getFlag(key, read);
    const passes =
      value === undefined
        ? fallback
        : requirement.variant === undefined
          ? value !== false
          : value === requirement.variant;
    satisfied &&= passes;
  }
  return satisfied;
}
