import { throwError, timeout, type MonoTypeOperatorFunction } from 'rxjs';
import { UpstreamError } from '../upstream/upstream-error.js';

/**
 * Fails an attempt that has not emitted within `ms` with an `UpstreamError('timeout')`. Unsubscribing from the
 * attempt is what cancels it (the upstream client aborts its request on unsubscribe).
 */
export function withTimeout<T>(ms: number): MonoTypeOperatorFunction<T> {
  return timeout({
    first: ms,
    with: () => throwError(() => new UpstreamError('timeout', `no answer within ${ms} ms`)),
  });
}
