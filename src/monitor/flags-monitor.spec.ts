import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { FlagResult, FlagSource } from '../flags.types.js';
import { resolveFlagsOptions } from '../options/resolve-flags-options.js';
import { UpstreamError } from '../pipeline/upstream-error.js';
import { fakeClocks, restoreClocks } from '../../test/support/clock.js';
import type { FlagsEvent } from './flags-events.js';
import { FlagsMonitor } from './flags-monitor.js';

const CACHE = { backend: 'memory', connected: true };

function monitorOf(eventsIncludeDistinctId = false) {
  const monitor = new FlagsMonitor(resolveFlagsOptions({ apiKey: 'phc_test', eventsIncludeDistinctId }, {}));
  const events: FlagsEvent[] = [];
  monitor.events$.subscribe((event) => events.push(event));
  return { monitor, events };
}

function resultsOf(...sources: [string, FlagSource][]): Map<string, FlagResult> {
  return new Map(sources.map(([key, source]) => [key, { key, enabled: true, source, evaluatedAt: new Date(0) }]));
}

describe('FlagsMonitor', () => {
  beforeEach(() => Logger.overrideLogger(false));
  afterEach(() => {
    restoreClocks();
    Logger.overrideLogger(new Logger());
  });

  it("counts each key asked by its answer's source (not the answers no one asked), and one without as unknown", () => {
    const { monitor } = monitorOf();
    monitor.evaluatedKeys(
      resultsOf(['a', 'remote'], ['b', 'fallback'], ['c', 'override'], ['more', 'local']),
      ['a', 'b', 'c', 'gone'],
      'u1',
    );
    expect(monitor.status(CACHE).counts).toEqual({
      local: 0,
      remote: 1,
      cache: 0,
      fallback: 1,
      override: 1,
      unknown: 1,
      upstreamFailures: 0,
    });
  });

  it('counts one unknown for a partial answer to every flag that holds none', () => {
    const { monitor } = monitorOf();
    monitor.evaluatedEvery(new Map(), undefined, 'u1', true);
    monitor.evaluatedEvery(resultsOf(['a', 'cache']), undefined, 'u1', true);
    expect(monitor.status(CACHE).counts).toMatchObject({ cache: 1, unknown: 1 });
  });

  it('emits an event per answer, then per unknown key, naming the user only when told to', () => {
    const anonymous = monitorOf();
    anonymous.monitor.evaluatedKeys(resultsOf(['a', 'remote'], ['more', 'local']), ['gone', 'a'], 'u1');
    expect(anonymous.events).toEqual([
      { type: 'flag_evaluated', key: 'a', source: 'remote', value: true, at: expect.any(Date) },
      { type: 'flag_evaluated', key: 'gone', source: 'unknown', at: expect.any(Date) },
    ]);
    const named = monitorOf(true);
    named.monitor.evaluatedKeys(resultsOf(['a', 'remote']), ['a'], 'u1');
    expect(named.events).toEqual([expect.objectContaining({ key: 'a', distinctId: 'u1' })]);
  });

  it('counts and emits every answer of an evaluation of every flag, and each flag asked further and not answered', () => {
    const { monitor, events } = monitorOf();
    monitor.evaluatedEvery(resultsOf(['a', 'remote'], ['b', 'cache']), ['b', 'gone'], 'u1');
    expect(monitor.status(CACHE).counts).toMatchObject({ remote: 1, cache: 1, unknown: 1 });
    expect(events.map((event) => [event.type, 'key' in event && event.key])).toEqual([
      ['flag_evaluated', 'a'],
      ['flag_evaluated', 'b'],
      ['flag_evaluated', 'gone'],
    ]);
  });

  it('says the upstream is degraded after a failure, and ok again after a success', () => {
    fakeClocks();
    const { monitor, events } = monitorOf();
    monitor.upstreamFailed(new UpstreamError('timeout', 'no answer'));
    expect(monitor.status(CACHE)).toMatchObject({
      upstream: 'degraded',
      lastFailure: { reason: 'timeout' },
      counts: { upstreamFailures: 1 },
    });
    expect(events).toEqual([{ type: 'upstream_failed', reason: 'timeout', at: expect.any(Date) }]);
    jest.setSystemTime(Date.now() + 1);
    monitor.upstreamSucceeded();
    expect(monitor.status(CACHE)).toMatchObject({ upstream: 'ok', lastSuccessAt: expect.any(Date) });
  });

  it('counts neither a refusal of the open circuit nor a call ended by shutdown as an upstream failure', () => {
    const { monitor, events } = monitorOf();
    monitor.upstreamFailed(new UpstreamError('circuit_open', 'open'));
    monitor.upstreamFailed(new UpstreamError('shutdown', 'closing'));
    expect(monitor.status(CACHE)).toMatchObject({ upstream: 'ok', counts: { upstreamFailures: 0 } });
    expect(events).toEqual([]);
  });

  it("says the upstream is down while the circuit is open; the half-open probe's success closes it", () => {
    const { monitor, events } = monitorOf();
    monitor.circuitChanged('open', 'closed', new UpstreamError('http_503', 'unavailable'));
    expect(monitor.status(CACHE)).toMatchObject({ upstream: 'down', circuit: 'open' });
    monitor.circuitChanged('half-open', 'open');
    monitor.circuitChanged('closed', 'half-open');
    expect(monitor.status(CACHE)).toMatchObject({ upstream: 'ok', circuit: 'closed', lastSuccessAt: expect.any(Date) });
    expect(events.map((event) => event.type)).toEqual(['circuit_opened', 'circuit_closed']);
  });

  it('emits a cache error with the backend and message, and copies the counts it hands out', () => {
    const { monitor, events } = monitorOf();
    monitor.cacheFailed('redis', new Error('ECONNREFUSED'));
    expect(events).toEqual([{ type: 'cache_error', backend: 'redis', message: 'ECONNREFUSED', at: expect.any(Date) }]);
    monitor.status(CACHE).counts.remote = 99;
    expect(monitor.status(CACHE).counts.remote).toBe(0);
  });

  it('completes the events stream when the module is destroyed', () => {
    const { monitor } = monitorOf();
    let completed = false;
    monitor.events$.subscribe({ complete: () => (completed = true) });
    monitor.onModuleDestroy();
    expect(completed).toBe(true);
  });
});
