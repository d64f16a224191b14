import { AsyncLocalStorage } from 'node:async_hooks';
import type { FlagEvaluations } from '../evaluation/flag-evaluations.js';
import type { MaybePromise } from '../evaluation/flag-results.js';
import type { FlagContext } from '../flags.types.js';

/**
 * What the module keeps for one request, from its middleware (before any guard) until its response is finished or
 * closed. Holds no strong reference to the request or its response: a refresh started by the request may outlive
 * them, and must not keep them alive. Once the response is over the store is ended: it answers nothing and holds
 * nothing, though work the request started may still run in its async context.
 */
export interface RequestStore {
  /** The request and response as the guards and handler see them (the raw ones until a guard or interceptor ran). */
  request: WeakRef<object>;
  response: WeakRef<object>;
  /** The handler and its class, once a guard or interceptor ran. */
  handler?: (...args: never[]) => unknown;
  type?: abstract new (...args: never[]) => unknown;
  /** The request's own context (`contextFactory`, else `request.user`), once one was found. */
  context?: MaybePromise<FlagContext | undefined>;
  /** The request's snapshot of every flag, by context key: one evaluation per request and context. */
  snapshots: Map<string, MaybePromise<FlagEvaluations>>;
  /** The module that entered the scope, which `@Flags()` asks. */
  owner: RequestSnapshot;
  /** `true` once the response is finished or closed: see {@link endRequestScope}. */
  ended: boolean;
}

/** What `@Flags()` asks of the request's scope. */
export interface RequestSnapshot {
  /** The snapshot of the request's own context (`contextFactory`, else `request.user`); empty when anonymous. */
  forRequest(): MaybePromise<FlagEvaluations>;
}

/**
 * The store of the request being served, across everything it awaits; an ended one too: read it through
 * {@link currentRequestStore}.
 */
export const requestStorage = new AsyncLocalStorage<RequestStore>();

/**
 * The store of the request being served, if its response is not over yet: work a request started that outlives
 * it runs outside any request.
 */
export function currentRequestStore(): RequestStore | undefined {
  const store = requestStorage.getStore();
  return store === undefined || store.ended ? undefined : store;
}

/**
 * Ends the request's scope, once its response is finished or closed: the store lets go of the request's context,
 * snapshots and handler, and answers nothing from then on.
 */
export function endRequestScope(store: RequestStore): void {
  store.ended = true;
  store.snapshots.clear();
  store.context = undefined;
  store.handler = undefined;
  store.type = undefined;
}
