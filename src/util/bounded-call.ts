import { messageOf } from './message-of.js';

/** A call that did not settle in time, or threw; the message names the call. */
export class BoundedCallError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BoundedCallError';
  }
}

/**
 * Runs `call` (sync or async) and settles with its value, or rejects with a {@link BoundedCallError} naming `what`
 * when it throws, rejects, or has not settled within `timeoutMs` (a timer of its own, cleared when it settles).
 * A late rejection of an abandoned call is swallowed: never an unhandled rejection.
 */
export function boundedCall<T>(what: string, timeoutMs: number, call: () => T | PromiseLike<T>): Promise<T> {
  let pending: Promise<T>;
  try {
    pending = Promise.resolve(call());
  } catch (error) {
    return Promise.reject(new BoundedCallError(`${what} threw: ${messageOf(error)}`, { cause: error }));
  }
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new BoundedCallError(`${what} did not settle within ${timeoutMs} ms`)),
      timeoutMs,
    );
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(new BoundedCallError(`${what} failed: ${messageOf(error)}`, { cause: error }));
      },
    );
  });
}
