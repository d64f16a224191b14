import { describe, expect, it } from '@jest/globals';
import { firstValueFrom, throwError } from 'rxjs';
import type { FlagsMonitor } from '../monitor/flags-monitor.js';
import type { FlagsModuleOptions } from '../options/flags-options.js';
import { resolveFlagsOptions } from '../options/resolve-flags-options.js';
import { UpstreamError } from '../pipeline/upstream-error.js';
import { FlagsUpstream } from './flags-upstream.js';
import type { PostHogClient } from './posthog-client.js';

/** The pipeline over a client whose every attempt fails (answering 503), counted. */
function failingUpstream(options: FlagsModuleOptions = {}) {
  let attempts = 0;
  const client = {
    requestFlags() {
      attempts++;
      return throwError(() => new UpstreamError('http_503', 'unavailable'));
    },
  };
  const monitor = { circuitChanged: () => undefined };
  const config = resolveFlagsOptions({ apiKey: 'phc_test', retries: 0, ...options }, {});
  const upstream = new FlagsUpstream(client as unknown as PostHogClient, config, monitor as unknown as FlagsMonitor);
  const call = () =>
    firstValueFrom(upstream.evaluate({ distinctId: 'u1' })).then(
      () => undefined,
      (error: UpstreamError) => error,
    );
  return { upstream, call, attempts: () => attempts };
}

describe('FlagsUpstream.refusal', () => {
  it('names circuit_open once the circuit opens, when a call would fail without an attempt', async () => {
    const { upstream, call, attempts } = failingUpstream({ circuitBreaker: { failureThreshold: 2 } });
    await call();
    expect(upstream.refusal).toBeUndefined();
    await call();
    expect(upstream.refusal?.reason).toBe('circuit_open');
    expect((await call())?.reason).toBe('circuit_open');
    expect(attempts()).toBe(2);
  });

  it('never refuses without a circuit breaker', async () => {
    const { upstream, call } = failingUpstream({ circuitBreaker: false });
    for (let index = 0; index < 10; index++) await call();
    expect(upstream.refusal).toBeUndefined();
  });

  it('names shutdown once the application is shutting down', () => {
    const { upstream } = failingUpstream();
    upstream.onModuleDestroy();
    expect(upstream.refusal?.reason).toBe('shutdown');
  });
});
