import { Injectable, type NestMiddleware } from '@nestjs/common';
import { ContextSnapshots } from './context-snapshots.js';
import { endRequestScope, requestStorage, type RequestStore } from './request-store.js';

/** The response as the middleware sees it (Node's `ServerResponse`, on Express and Fastify alike). */
interface ResponseEvents {
  on(event: 'close', listener: () => void): unknown;
}

/**
 * Enters the request's scope before guards run (Nest runs middleware first): everything the request does after
 * this, guards, interceptors, the handler and the services it calls, finds its {@link RequestStore}. Every request
 * gets a scope of its own, one handled inside another's async context too (Fastify's `inject()`, an app calling
 * its own routes); the scope ends when the response is finished or closed. Registered by the module for every
 * route, on Express and Fastify.
 */
@Injectable()
export class FlagsRequestMiddleware implements NestMiddleware {
  constructor(private readonly evaluations: ContextSnapshots) {}

  use(request: object, response: ResponseEvents, next: (error?: unknown) => void): void {
    const store: RequestStore = {
      request: new WeakRef(request),
      snapshots: new Map(),
      owner: this.evaluations,
      ended: false,
    };
    endWithResponse(store, response);
    requestStorage.run(store, next);
  }
}

/** Ends the scope of `store` once `response` is finished or its connection closed (Node emits `close` for both). */
function endWithResponse(store: RequestStore, response: ResponseEvents): void {
  response.on('close', () => endRequestScope(store));
}
