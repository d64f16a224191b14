import { UseGuards, UseInterceptors } from '@nestjs/common';
import { FlagsRequestInterceptor } from '../request/flags-request.interceptor.js';
import { FeatureFlagGuard } from './feature-flag.guard.js';
import { FLAG_REQUIREMENTS, type FeatureFlagOptions, type FlagRequirement } from './flag-requirement.js';

/**
 * Lets a request through only when the flag (or every flag of a list) is on for the request's user, or has the
 * given variant. On a class it applies to every handler; class and handler requirements all apply. Also runs the
 * handler in its message's scope where Nest applies no global interceptor (gateways on Nest 11).
 *
 * ```ts
 * @FeatureFlag('beta')
 * @FeatureFlag('checkout', { variant: 'test' })
 * @FeatureFlag(['beta', 'checkout'])
 * @FeatureFlag('kill-switch', { defaultValue: true })
 * @FeatureFlag('beta', { exception: new ForbiddenException() })
 * @FeatureFlag('beta', { exception: (context) => (context.getType() === 'http' ? new GoneException() : undefined) })
 * ```
 * @throws {TypeError} for no key, an empty key, or an `exception` that is neither an Error nor a function.
 */
export function FeatureFlag(
  keys: string | string[],
  options: FeatureFlagOptions = {},
): ClassDecorator & MethodDecorator {
  const list = typeof keys === 'string' ? [keys] : [...keys];
  if (list.length === 0 || list.some((key) => typeof key !== 'string' || key === '')) {
    throw new TypeError('@FeatureFlag: give a flag key or a non-empty list of flag keys');
  }
  const { exception } = options;
  if (exception !== undefined && !(exception instanceof Error) && typeof exception !== 'function') {
    throw new TypeError('@FeatureFlag: exception must be an Error or a function of the execution context');
  }
  const requirement: FlagRequirement = { ...options, keys: list };
  return (target: object, propertyKey?: string | symbol, descriptor?: PropertyDescriptor) => {
    const holder = descriptor ? (descriptor.value as object) : target;
    const existing = (Reflect.getMetadata(FLAG_REQUIREMENTS, holder) as FlagRequirement[] | undefined) ?? [];
    Reflect.defineMetadata(FLAG_REQUIREMENTS, [...existing, requirement], holder);
    if (existing.length > 0) return;
    UseGuards(FeatureFlagGuard)(target, propertyKey!, descriptor!);
    UseInterceptors(FlagsRequestInterceptor)(target, propertyKey!, descriptor!);
  };
}
