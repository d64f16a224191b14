import { ForbiddenException } from '@nestjs/common';

/** An exception class of a transport package (`WsException`, `RpcException`): built from a message. */
type TransportExceptionClass = new (message: string) => Error;

/** Where the exception each transport answers with lives; loaded on first need, never a dependency. */
const EXCEPTIONS = new Map<string, readonly [specifier: string, name: string]>([
  ['ws', ['@nestjs/websockets', 'WsException']],
  ['rpc', ['@nestjs/microservices', 'RpcException']],
]);

/** The classes loaded so far (`undefined`: the package is not installed), and the loads under way. */
const loaded = new Map<string, TransportExceptionClass | undefined>();
const loading = new Map<string, Promise<TransportExceptionClass | undefined>>();

/**
 * The exception `type`'s own handlers answer with (`WsException` on `ws`, `RpcException` on `rpc`: what Nest
 * throws when a guard returns `false`), with `message`; a `ForbiddenException` when the package cannot be loaded.
 * A promise the first time (the package is imported then), the exception itself afterwards. `undefined` for a
 * transport with no exception of its own.
 */
export function transportException(type: string, message: string): Error | Promise<Error> | undefined {
  const where = EXCEPTIONS.get(type);
  if (!where) return undefined;
  if (loaded.has(type)) return build(loaded.get(type), message);
  let load = loading.get(type);
  if (!load) {
    load = importClass(where[0], where[1]).then((found) => {
      loaded.set(type, found);
      return found;
    });
    loading.set(type, load);
  }
  return load.then((found) => build(found, message));
}

async function importClass(specifier: string, name: string): Promise<TransportExceptionClass | undefined> {
  try {
    const module = (await import(specifier)) as Record<string, unknown> & { default?: Record<string, unknown> };
    const found = Object.hasOwn(module, name) ? module[name] : module.default?.[name];
    return typeof found === 'function' ? (found as TransportExceptionClass) : undefined;
  } catch {
    return undefined;
  }
}

function build(found: TransportExceptionClass | undefined, message: string): Error {
  return found ? new found(message) : new ForbiddenException(message);
}
