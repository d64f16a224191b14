import { PostHog } from 'posthog-node';

/**
 * posthog-node as the tests' oracle for local evaluation: keys `phc_<name>` / `phs_<name>` against `host` (the fake
 * PostHog), definitions loaded at startup and not polled again during a test, events never flushed on their own.
 */
export function posthogNodeOracle(host: string, name: string): PostHog {
  return new PostHog(`phc_${name}`, {
    host,
    personalApiKey: `phs_${name}`,
    featureFlagsPollingInterval: 600_000,
    flushAt: 10_000,
    disableGeoip: true,
  });
}
