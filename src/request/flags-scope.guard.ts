import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ContextSnapshots } from './context-snapshots.js';
import { recordExecution } from './request-store.js';

/**
 * Gives the request's (or message's) scope the execution context of the handler it serves, before any
 * interceptor, pipe or handler-level guard runs: a call without a context from any of them hands `contextFactory`
 * that very context (on Fastify, with the request the handler sees, not the raw one the middleware saw). Lets
 * every call through. Registered by the module as a global guard.
 */
@Injectable()
export class FlagsScopeGuard implements CanActivate {
  constructor(private readonly evaluations: ContextSnapshots) {}

  canActivate(context: ExecutionContext): true {
    const store = this.evaluations.scopeOf(context);
    if (store) recordExecution(store, context);
    return true;
  }
}
