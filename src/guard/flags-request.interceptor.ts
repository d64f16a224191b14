import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Observable } from 'rxjs';
import { flagsOfRequest, requestFlagsStorage } from '../request-flags.js';

/**
 * Runs a `@FeatureFlag` handler with its request's evaluated flags in scope, so that the handler's
 * `FlagsService` calls for the same context reuse them instead of calling PostHog again.
 */
@Injectable()
export class FlagsRequestInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const flags = flagsOfRequest(context.switchToHttp().getRequest());
    return new Observable((subscriber) => requestFlagsStorage.run(flags, () => next.handle().subscribe(subscriber)));
  }
}
