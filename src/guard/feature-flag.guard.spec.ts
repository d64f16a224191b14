import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { ForbiddenException, Logger, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { CaptureLogger } from '../../test/support/capture-logger.js';
import { executionContext } from '../../test/support/execution-context.js';
import type { ResolvedFlagsOptions } from '../options/flags-options.js';
import { emptySnapshot } from '../evaluation/empty-snapshot.js';
import type { SnapshotFactory } from '../evaluation/snapshot-factory.js';
import { RequestContexts } from '../request/request-contexts.js';
import { UnsendableProperties } from '../evaluation/unsendable-properties.js';
import { ContextSnapshots } from '../request/context-snapshots.js';
import type { FlagContext, FlagResult } from '../flags.types.js';
import { FeatureFlag } from './feature-flag.decorator.js';
import { FeatureFlagGuard } from './feature-flag.guard.js';
import { ModuleDenial } from './module-denial.js';

class MessageHandlers {
  @FeatureFlag('beta')
  handle() {}
}

/** Evaluations where beta is on for everyone, recording whom they were asked about. */
function fakeEvaluations(asked: FlagContext[], config: ResolvedFlagsOptions): ContextSnapshots {
  const beta: FlagResult = { key: 'beta', enabled: true, source: 'remote', evaluatedAt: new Date() };
  const snapshots = {
    evaluate: async (context: FlagContext) => {
      asked.push(context);
      const snapshot = emptySnapshot();
      return Object.assign(Object.create(Object.getPrototypeOf(snapshot) as object), {
        getFlag: (key: string) => (key === 'beta' ? beta.enabled : undefined),
      });
    },
    narrowed: (every: unknown) => every,
  } as unknown as SnapshotFactory;
  return new ContextSnapshots(snapshots, new RequestContexts(config, new UnsendableProperties()));
}

function rpcContext(data: unknown): ExecutionContext {
  return executionContext('rpc', [data, {}], MessageHandlers, MessageHandlers.prototype.handle);
}

describe('FeatureFlagGuard outside HTTP', () => {
  afterEach(() => Logger.overrideLogger(false));

  it('denies without a contextFactory, as Nest denies an RPC message, and says why once', async () => {
    const logs = new CaptureLogger();
    Logger.overrideLogger(logs);
    const asked: FlagContext[] = [];
    const config = {} as ResolvedFlagsOptions;
    const guard = new FeatureFlagGuard(
      new Reflector(),
      fakeEvaluations(asked, config),
      new ModuleDenial(config.exception),
      new HttpAdapterHost(),
    );
    // @nestjs/microservices is not installed here: its RpcException cannot be loaded, a 403 stands in for it.
    const attempt = async () => guard.canActivate(rpcContext({}));
    await expect(attempt()).rejects.toThrow(new ForbiddenException('Forbidden resource'));
    await expect(attempt()).rejects.toThrow(ForbiddenException);
    expect(asked).toEqual([]);
    expect(logs.at('warn')).toEqual([
      expect.stringContaining('flags on a rpc handler: the transport has no default user, and no contextFactory'),
    ]);
  });

  it('evaluates for whom contextFactory names', async () => {
    const asked: FlagContext[] = [];
    const config = {
      contextFactory: (context) => (context.switchToRpc().getData() as { userId: string }).userId,
    } as ResolvedFlagsOptions;
    const guard = new FeatureFlagGuard(
      new Reflector(),
      fakeEvaluations(asked, config),
      new ModuleDenial(config.exception),
      new HttpAdapterHost(),
    );
    expect(await guard.canActivate(rpcContext({ userId: 'user-7' }))).toBe(true);
    expect(asked).toEqual([{ distinctId: 'user-7' }]);
  });
});
