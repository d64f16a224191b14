import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { finalize, type Observable } from 'rxjs';
import { ContextSnapshots } from './context-snapshots.js';
import { endRequestScope, recordExecution, requestStorage } from './request-store.js';

/**
 * Runs a WebSocket or RPC message's handler (or a GraphQL operation's outside HTTP) in the message's scope, the one
 * its guards used, and ends the scope once the handler is done; an HTTP request's handler already runs in the
 * scope the middleware entered. Registered by the module for every handler.
 */
@Injectable()
export class FlagsRequestInterceptor implements NestInterceptor {
  constructor(private readonly evaluations: ContextSnapshots) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const store = this.evaluations.scopeOf(context);
    if (!store || requestStorage.getStore() === store) return next.handle();
    recordExecution(store, context);
    // Nest binds what `handle()` returns to the async context it is called in: the handler runs in the scope.
    const handled = requestStorage.run(store, () => next.handle());
    return handled.pipe(finalize(() => endRequestScope(store)));
  }
}
