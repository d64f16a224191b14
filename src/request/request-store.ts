import { AsyncLocalStorage } from 'node:async_hooks';
import type { FlagEvaluations } from '../evaluation/flag-evaluations.js';
import type { MaybePromise } from '../evaluation/flag-results.js';
import type { FlagContext } from '../flags.types.js';

/**
 * What the module keeps for one request, from its middleware (before any guard) to the end of the request's async
 * work. Holds no strong reference to the request or its response: a refresh started by the request may outlive
 * them, and must not keep them alive.
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
}

/** What `@Flags()` asks of the request's scope. */
export interface RequestSnapshot {
  /** The snapshot of the request's own context (`contextFactory`, else `request.user`); empty when anonymous. */
  forRequest(): MaybePromise<FlagEvaluations>;
}

/** The store of the request being served, across everything it awaits. */
export const requestStorage = new AsyncLocalStorage<RequestStore>();
