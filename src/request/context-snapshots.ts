import { Injectable, type ExecutionContext } from '@nestjs/common';
import { contextKey } from '../evaluation/flag-context.js';
import type { FlagEvaluations } from '../evaluation/flag-evaluations.js';
import type { MaybePromise } from '../evaluation/flag-results.js';
import { canNameFlag } from '../util/flag-key.js';
import { SnapshotFactory, type SnapshotOptions } from '../evaluation/snapshot-factory.js';
import type { FlagContext } from '../flags.types.js';
import { RequestContexts } from './request-contexts.js';
import {
  currentRequestStore,
  recordExecution,
  type RequestSnapshot,
  type RequestStore,
  type SharedSnapshot,
} from './request-store.js';
import { askedOf, EVERY_FLAG_ASKED, holdsEvery, RouteFlags } from './route-flags.js';

/**
 * How many contexts a request (or message) keeps snapshots for besides its own: past it, a call naming another
 * context evaluates on its own, as outside a request. A handler looping over many users keeps no more.
 */
export const MAX_SHARED_CONTEXTS = 32;

/**
 * How many times a request's snapshot of a context asks for flags it was not asked before it asks for every flag:
 * a request reading many flags its route never read makes a few calls, not one per flag.
 */
export const MAX_WIDENINGS = 3;

/**
 * One answer per flag per request (or message) and context: inside a request (its scope entered by the module's
 * middleware) or a WebSocket or RPC message (its scope entered by its guard or the module's interceptor), the
 * `@FeatureFlag` guard, `@Flags()` and every `FlagsService` call for the same context share one snapshot,
 * evaluated on the first need for the flags its route reads ({@link RouteFlags}); a read of flags it was not asked
 * asks them then, joined to it. A call without a context, and `@Flags()`, use the request's own context
 * (`contextFactory`, else the transport's user), never one a call named. Calls naming other contexts share too, for
 * the first {@link MAX_SHARED_CONTEXTS} of them. Outside, and in work that outlives its request, every call
 * evaluates on its own.
 */
@Injectable()
export class ContextSnapshots implements RequestSnapshot {
  /** The scope of each message being handled, by its arguments (the array its guards and interceptors share). */
  private readonly messages = new WeakMap<object, RequestStore>();
  /** What each route's requests ask for. */
  private readonly routes = new RouteFlags();

  constructor(
    private readonly snapshots: SnapshotFactory,
    private readonly contexts: RequestContexts,
  ) {}

  /**
   * The snapshot of `context` (parsed): in a request, its share of the request's snapshot (unless `onlyLocal`,
   * `disableGeoip` or `reuseUntil` asks for an evaluation of its own).
   */
  forContext(context: FlagContext, options: SnapshotOptions = {}): MaybePromise<FlagEvaluations> {
    return this.inStore(currentRequestStore(), context, options, false, options.flagKeys);
  }

  /**
   * {@link forContext} in the request's scope `store` (outside a request when `undefined`); `requestOwn` when
   * `context` is the request's own, always shared. `wanted`: the flags the caller reads (every flag when
   * `undefined`), asked of the request's snapshot for `handler`'s route (the scope's first one by default).
   */
  private inStore(
    store: RequestStore | undefined,
    context: FlagContext,
    options: SnapshotOptions,
    requestOwn: boolean,
    wanted: readonly string[] | undefined,
    handler?: object,
  ): MaybePromise<FlagEvaluations> {
    const contextId = contextKey(context);
    const own = options.onlyLocal !== undefined || options.disableGeoip !== undefined || options.reuseUntil;
    if (!store || own || context.distinctId === '') {
      return this.snapshots.evaluate(context, contextId, options);
    }
    handler ??= store.execution?.getHandler();
    let shared = store.snapshots.get(contextId);
    if (!shared) {
      if (!requestOwn && store.snapshots.size > MAX_SHARED_CONTEXTS) {
        return this.snapshots.evaluate(context, contextId, options);
      }
      const route = handler ?? BEFORE_ROUTE;
      const asked = this.routes.ask(route, wanted);
      // The route's keys or more: a remembered answer to every flag is kept whole (any other key read is asked).
      const snapshot = this.snapshots.evaluate(context, contextId, asked.options, true);
      shared = { asked, snapshot, route, widened: 0 };
      store.snapshots.set(contextId, shared);
    } else {
      const learned = this.routes.learn(handler, wanted);
      // What the snapshot's asker learns too: a middleware's snapshot asks for what its requests' routes read next.
      if (shared.route !== handler) this.routes.learn(shared.route, wanted);
      const { set } = shared.asked;
      if (set && (wanted === undefined || !holdsEvery(set, wanted))) {
        // Past a few calls in one request (or once the route asks every flag), the rest comes in one.
        const every = learned === EVERY_FLAG_ASKED || ++shared.widened > MAX_WIDENINGS;
        this.widen(shared, context, contextId, every ? undefined : wanted);
      }
    }
    const { snapshot } = shared;
    return snapshot instanceof Promise
      ? this.narrowedOnceAnswered(snapshot, options)
      : this.snapshots.narrowed(snapshot, options);
  }

  /**
   * Asks the flags of `wanted` (every flag when `undefined`) the shared snapshot was not asked, and joins their
   * answer to it: what was read of it keeps its answer.
   */
  private widen(shared: SharedSnapshot, context: FlagContext, contextId: string, wanted?: readonly string[]): void {
    const { keys, set } = shared.asked;
    if (!set) return;
    const missing = wanted?.filter((key) => canNameFlag(key) && !set.has(key));
    const more = this.snapshots.evaluate(context, contextId, missing ? { flagKeys: missing } : {});
    shared.snapshot = this.snapshots.joined(shared.snapshot, set, more);
    shared.asked = missing ? askedOf([...keys, ...missing]) : EVERY_FLAG_ASKED;
  }

  /** The request's snapshot narrowed, once answered (a continuation of its own: see `FeatureFlagGuard`). */
  private narrowedOnceAnswered(shared: Promise<FlagEvaluations>, options: SnapshotOptions): Promise<FlagEvaluations> {
    return shared.then((every) => this.snapshots.narrowed(every, options));
  }

  /**
   * The scope `execution` runs in: the HTTP request's (entered by the middleware), else its message's, made on
   * first need; `undefined` for an HTTP call outside the middleware's scope.
   */
  scopeOf(execution: ExecutionContext): RequestStore | undefined {
    const store = currentRequestStore();
    if (store || execution.getType() === 'http') return store;
    const args = execution.getArgs();
    let message = this.messages.get(args);
    if (!message) {
      message = { execution, snapshots: new Map(), owner: this, ended: false };
      this.messages.set(args, message);
    }
    return message;
  }

  /**
   * The snapshot of the request's own context (`contextFactory`, else the transport's user), never of one a call
   * named; an empty one for an anonymous request. `execution`, from `@Flags()`, is recorded as the request's when
   * it has none yet.
   * @throws {TypeError} outside a request or message (or once it is over): there is nothing to take a context
   * from.
   */
  forRequest(options: SnapshotOptions = {}, execution?: ExecutionContext): MaybePromise<FlagEvaluations> {
    const store = currentRequestStore();
    if (!store) {
      throw new TypeError(
        'FlagsService: no context given, and not inside a request or message whose context could be used (work ' +
          'that outlives its request is outside it); pass a context (a distinct id or { distinctId, ... })',
      );
    }
    if (execution) recordExecution(store, execution);
    const context = this.requestContext(store);
    return context instanceof Promise
      ? context.then((found) => this.forFound(found, options))
      : this.forFound(context, options);
  }

  /**
   * What the `@FeatureFlag` guard decides on: the snapshot of the context of the request `execution` serves;
   * `undefined` for an anonymous request.
   */
  forGuard(execution: ExecutionContext, keys: readonly string[]): MaybePromise<FlagEvaluations | undefined> {
    const store = this.scopeOf(execution);
    if (store) recordExecution(store, execution);
    const context = this.contexts.of(execution);
    if (!(context instanceof Promise)) return this.forGuardContext(context, store, execution, keys);
    return this.forGuardContextOnceFound(context, store, execution, keys);
  }

  /** {@link forGuardContext} once the context is found (a continuation of its own: see `FeatureFlagGuard`). */
  private forGuardContextOnceFound(
    context: Promise<FlagContext | undefined>,
    store: RequestStore | undefined,
    execution: ExecutionContext,
    keys: readonly string[],
  ): Promise<FlagEvaluations | undefined> {
    return context.then((found) => this.forGuardContext(found, store, execution, keys));
  }

  /**
   * The guard's snapshot (of its route's flags, `keys` among them; whole, not narrowed); a context the guard found
   * becomes the request's, unless it has one already.
   */
  private forGuardContext(
    context: FlagContext | undefined,
    store: RequestStore | undefined,
    execution: ExecutionContext,
    keys: readonly string[],
  ): MaybePromise<FlagEvaluations | undefined> {
    if (!context) return undefined;
    if (store && store.context === undefined) store.context = context;
    if (!store) return this.snapshots.evaluate(context, contextKey(context), askedOf(keys).options, true);
    return this.inStore(store, context, WHOLE, true, keys, execution.getHandler());
  }

  private forFound(context: FlagContext | undefined, options: SnapshotOptions): MaybePromise<FlagEvaluations> {
    if (!context) return this.snapshots.empty({ distinctId: '' });
    return this.inStore(currentRequestStore(), context, options, true, options.flagKeys);
  }

  /** The request's context, found once (an anonymous answer is asked again: authentication may come later). */
  private requestContext(store: RequestStore): MaybePromise<FlagContext | undefined> {
    if (store.context !== undefined) return store.context;
    const found = this.contexts.ofStore(store);
    if (!(found instanceof Promise)) {
      store.context = found;
      return found;
    }
    store.context = found;
    void found.then((context) => {
      if (!context && store.context === found) store.context = undefined;
    });
    return found;
  }
}

/**
 * The route of a snapshot asked before the request's handler is known (in a middleware): learned as a route, from
 * every read of the snapshots it asked, so that they ask for what the requests read after it.
 */
const BEFORE_ROUTE: object = Object.freeze({});

/** The options of a read of the request's snapshot as it is: not narrowed, events as the module says. */
const WHOLE: SnapshotOptions = Object.freeze({});
