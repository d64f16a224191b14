import 'reflect-metadata';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Logger, type ContextType, type ExecutionContext } from '@nestjs/common';
import { CaptureLogger } from '../../test/support/capture-logger.js';
import { fakeClocks, restoreClocks } from '../../test/support/clock.js';
import { executionContext } from '../../test/support/execution-context.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';
import { UnsendableProperties } from '../evaluation/unsendable-properties.js';
import { RequestContexts } from './request-contexts.js';

class Handlers {
  handle() {}
}

/** An execution context of `type` with these arguments. */
function execution(type: ContextType | 'graphql', args: unknown[]): ExecutionContext {
  return executionContext(type, args, Handlers, Handlers.prototype.handle);
}

describe('RequestContexts', () => {
  afterEach(() => {
    Logger.overrideLogger(false);
    restoreClocks();
  });

  it("reads each transport's user: request.user, the GraphQL context's req.user or reply.request.user, data.user", () => {
    const contexts = new RequestContexts({} as ResolvedFlagsOptions, new UnsendableProperties());
    expect(contexts.of(execution('http', [{ user: { id: 'h' } }, {}]))).toEqual({ distinctId: 'h' });
    expect(contexts.of(execution('graphql', [{}, {}, { req: { user: { sub: 'g' } } }, {}]))).toEqual({
      distinctId: 'g',
    });
    expect(contexts.of(execution('graphql', [{}, {}, { reply: { request: { user: { id: 7 } } } }, {}]))).toEqual({
      distinctId: '7',
    });
    expect(contexts.of(execution('ws', [{ data: { user: { distinctId: 'w' } } }, {}]))).toEqual({ distinctId: 'w' });
    expect(contexts.of(execution('ws', [{ data: {} }, {}]))).toBeUndefined();
  });

  it('warns once per transport that has no user to read, and never for an anonymous one', () => {
    const logs = new CaptureLogger();
    Logger.overrideLogger(logs);
    const contexts = new RequestContexts({} as ResolvedFlagsOptions, new UnsendableProperties());
    for (let round = 0; round < 3; round++) {
      void contexts.of(execution('http', [{}, {}]));
      void contexts.of(execution('ws', [{ data: {} }, {}]));
      void contexts.of(execution('rpc', [{ userId: 'u' }, {}]));
      void contexts.of(execution('graphql', [{}, {}, {}, {}]));
      void contexts.of(execution('ws', [{}, {}]));
    }
    expect(logs.at('warn')).toEqual([
      expect.stringContaining('flags on a rpc handler: the transport has no default user'),
      expect.stringContaining("flags on a graphql handler: the resolver context has no `req` (nor Mercurius's"),
      expect.stringContaining('flags on a ws handler: the client has no `data` object'),
    ]);
  });

  it("leaves a call contextFactory names no one for to the transport's user", async () => {
    const contexts = new RequestContexts(
      { contextFactory: () => undefined } as unknown as ResolvedFlagsOptions,
      new UnsendableProperties(),
    );
    expect(await contexts.of(execution('http', [{ user: { id: 'h' } }, {}]))).toEqual({ distinctId: 'h' });
  });

  it('keeps reporting a contextFactory that keeps failing, a summary a minute, naming the transport', async () => {
    fakeClocks();
    const logs = new CaptureLogger();
    Logger.overrideLogger(logs);
    const contexts = new RequestContexts(
      {
        contextFactory: () => {
          throw new TypeError("Cannot read properties of undefined (reading 'req')");
        },
      } as unknown as ResolvedFlagsOptions,
      new UnsendableProperties(),
    );
    const start = Date.now();
    for (const minutes of [0, 0.5, 1.1, 1.5, 2.2]) {
      jest.setSystemTime(start + minutes * 60_000);
      expect(await contexts.of(execution('graphql', [{}, {}, {}, {}]))).toBeUndefined();
    }
    expect(logs.at('error')).toEqual([
      expect.stringContaining(
        "contextFactory failed (Cannot read properties of undefined (reading 'req'), on graphql); treating such " +
          'calls as anonymous',
      ),
      expect.stringMatching(/^contextFactory failed 2 more times since the last line/),
      expect.stringMatching(/^contextFactory failed 2 more times since the last line/),
    ]);
  });
});
