import type { FlagResult } from '../flags.types.js';

/**
 * The flags evaluated for one request: every flag, once per context (by its `contextKey`). The `@FeatureFlag`
 * guard fills it (and reads it again when class and handler both carry the guard); `@Flags()` hands the first
 * context's to the handler. It rides on the request object: no request-scoped provider is involved.
 */
interface RequestFlags {
  /** The first context evaluated, which is what `@Flags()` shows, and its results. */
  primaryKey: string;
  primary: Map<string, FlagResult>;
  /** Any other context's results (a `contextFactory` may name several). */
  others?: Map<string, Map<string, FlagResult>>;
}

const byRequest = new WeakMap<object, RequestFlags>();

/** Every flag's result for the context with this key, if `request` has evaluated them. */
export function rememberedFlags(request: object, contextKey: string): Map<string, FlagResult> | undefined {
  const flags = byRequest.get(request);
  return flags?.primaryKey === contextKey ? flags.primary : flags?.others?.get(contextKey);
}

/** Remembers every flag's result for the context with this key on `request`. */
export function rememberFlags(request: object, contextKey: string, results: Map<string, FlagResult>): void {
  const flags = byRequest.get(request);
  if (!flags) byRequest.set(request, { primaryKey: contextKey, primary: results });
  else (flags.others ??= new Map()).set(contextKey, results);
}

/** The results of the first context `request` evaluated, if any. */
export function primaryFlags(request: object): Map<string, FlagResult> | undefined {
  return byRequest.get(request)?.primary;
}
