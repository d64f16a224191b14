/**
 * The metadata key `@UseGuards` writes its guards under (`GUARDS_METADATA`, `__guards__` in Nest 11 and 12). Nest
 * exports that constant only from a path inside `@nestjs/common`, not from the package root; guard-order.spec.ts
 * pins the key against the installed Nest's `@UseGuards`.
 */
export const GUARDS_METADATA = '__guards__';

/**
 * The guards Nest runs after `guard` on this handler (class guards first, then the handler's, each in the order
 * `@UseGuards` lists them; decorators apply bottom-up, so a `@UseGuards` written above `@FeatureFlag` runs after
 * it). Their names, for a warning: an authentication guard there has not set `request.user` yet.
 */
export function guardsDeclaredAfter(classRef: object, handler: object, guard: object): string[] {
  const guards: unknown[] = [...guardsOf(classRef), ...guardsOf(handler)];
  const index = guards.indexOf(guard);
  return index < 0
    ? []
    : guards
        .slice(index + 1)
        .filter((other) => other !== guard)
        .map(nameOf);
}

function guardsOf(target: object): unknown[] {
  const guards: unknown = Reflect.getMetadata(GUARDS_METADATA, target);
  return Array.isArray(guards) ? guards : [];
}

function nameOf(guard: unknown): string {
  if (typeof guard === 'function') return guard.name || 'an anonymous guard';
  return (guard as object | null)?.constructor?.name ?? 'a guard';
}
