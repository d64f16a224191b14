import { Injectable, type NestMiddleware } from '@nestjs/common';
import { RequestEvaluations } from './request-evaluations.js';
import { requestStorage, type RequestStore } from './request-store.js';

/**
 * Enters the request's scope before guards run (Nest runs middleware first): everything the request does after
 * this, guards, interceptors, the handler and the services it calls, finds its {@link RequestStore}. Every request
 * gets a scope of its own, one handled inside another's async context too (Fastify's `inject()`, an app calling
 * its own routes). Registered by the module for every route, on Express and Fastify.
 */
@Injectable()
export class FlagsRequestMiddleware implements NestMiddleware {
  constructor(private readonly evaluations: RequestEvaluations) {}

  use(request: object, response: object, next: (error?: unknown) => void): void {
    const store: RequestStore = {
      request: new WeakRef(request),
      response: new WeakRef(response),
      snapshots: new Map(),
      owner: this.evaluations,
    };
    requestStorage.run(store, next);
  }
}
