import { AsyncLocalStorage } from 'node:async_hooks';
import type { ExecutionContext } from '@nestjs/common';
import type { FlagEvaluations } from '../evaluation/flag-evaluations.js';
import type { MaybePromise } from '../evaluation/flag-results.js';
import type { FlagContext } from '../flags.types.js';
import type { FlagsAsked } from './route-flags.js';

/**
 * What the module keeps for one request (from its middleware, before any guard, until its response is finished or
 * closed) or one WebSocket or RPC message (from its first guard or interceptor until its handler is done). Once
 * over, the store is ended: it answers nothing and holds nothing (neither the request nor the execution context),
 * though work the request started may still run in its async context.
 */
export interface RequestStore {
  /** An HTTP request as the module's middleware saw it (the raw one on Fastify); none for a message. */
  request?: WeakRef<object>;
  /**
   * The first execution context a guard, interceptor or `@Flags()` of this request or message ran with (the
   * module's global guard records it first): what a call without a context hands `contextFactory` (or reads the
   * transport's user from).
   */
  execution?: ExecutionContext;
  /** The request's own context (`contextFactory`, else the transport's user), once one was found. */
  context?: MaybePromise<FlagContext | undefined>;
  /** The request's snapshot of each context, by context key: one answer per flag per request and context. */
  snapshots: Map<string, SharedSnapshot>;
  /** The module that entered the scope, which `@Flags()` asks. */
  owner: RequestSnapshot;
  /** `true` once the response is finished or closed: see {@link endRequestScope}. */
  ended: boolean;
}

/** A request's snapshot of one context, and the flags it holds: more are asked when a read needs them. */
export interface SharedSnapshot {
  snapshot: MaybePromise<FlagEvaluations>;
  /** The flags asked. */
  asked: FlagsAsked;
  /** How many times flags it was not asked were asked since (see `MAX_WIDENINGS`). */
  widened: number;
  /** The route it was asked for (see `RouteFlags`): it learns what the snapshot is read for. */
  route: object;
}

/** What `@Flags()` asks of the request's scope. */
export interface RequestSnapshot {
  /**
   * The snapshot of the request's own context (`contextFactory`, else the transport's user); empty when
   * anonymous. `execution` is the handler's, recorded when the scope has seen none yet.
   */
  forRequest(options?: object, execution?: ExecutionContext): MaybePromise<FlagEvaluations>;
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

/** Keeps `execution` as the store's execution context, unless it has one already (the first one wins). */
export function recordExecution(store: RequestStore, execution: ExecutionContext): void {
  store.execution ??= execution;
}

/**
 * Ends the request's scope, once its response is finished or closed: the store lets go of the request's context,
 * snapshots and execution context, and answers nothing from then on.
 */
export function endRequestScope(store: RequestStore): void {
  store.ended = true;
  store.snapshots.clear();
  store.context = undefined;
  store.execution = undefined;
  store.request = undefined;
}
