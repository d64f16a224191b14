import { contextKey } from './flag-context.js';
import type { FlagContext, FlagResult } from './flags.types.js';

/**
 * The flags evaluated for one request: every flag, once per context. The `@FeatureFlag` guard fills it (and
 * reads it again when class and handler both carry the guard); `@Flags()` hands it to the handler. It rides on
 * the request object: no request-scoped provider is involved.
 */
export class RequestFlags {
  private readonly byContext = new Map<string, Map<string, FlagResult>>();
  /** The results of the first context evaluated, which is what `@Flags()` shows. */
  primary?: Map<string, FlagResult>;

  /** Every flag's result for `context`, if this request has evaluated them. */
  get(context: FlagContext): Map<string, FlagResult> | undefined {
    return this.byContext.get(contextKey(context));
  }

  /** Remembers every flag's result for `context`. */
  set(context: FlagContext, results: Map<string, FlagResult>): void {
    this.byContext.set(contextKey(context), results);
    this.primary ??= results;
  }
}

const byRequest = new WeakMap<object, RequestFlags>();

/** The flags of `request` (the platform's request object), created on first use. */
export function flagsOfRequest(request: object): RequestFlags {
  let flags = byRequest.get(request);
  if (!flags) byRequest.set(request, (flags = new RequestFlags()));
  return flags;
}
