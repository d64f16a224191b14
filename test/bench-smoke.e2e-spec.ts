import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('npm run bench -- --smoke', () => {
  it('measures every scenario for both contenders, the ceiling and the references', async () => {
    await promisify(execFile)('npm', ['run', 'bench', '--', '--smoke'], { cwd: ROOT, timeout: 170_000 });
    const result = JSON.parse(readFileSync(`${ROOT}.build/bench-smoke/latest.json`, 'utf8'));
    const rows = result.rows.map(
      (row: { scenario: string; contender: string }) => `${row.scenario} / ${row.contender}`,
    );
    expect(rows).toEqual([
      'healthy / nestjs-posthog-flags',
      'healthy / posthog-node guard',
      'PostHog starts hanging / nestjs-posthog-flags',
      'PostHog starts hanging / posthog-node guard',
      'PostHog hanging / nestjs-posthog-flags',
      'PostHog hanging / posthog-node guard',
      'PostHog refusing / nestjs-posthog-flags',
      'PostHog refusing / posthog-node guard',
      'healthy, fresh=5 / nestjs-posthog-flags',
      'healthy, fresh=5 / posthog-node guard',
      'unguarded (ceiling) / unguarded',
      'reference: allows all, no lookup / allows all, no lookup',
      'reference: same denials, no lookup / same denials, no lookup',
      'healthy, fresh=5, exposure events off / nestjs-posthog-flags, no exposure events',
    ]);
    for (const row of result.rows) {
      expect(row.requests).toBeGreaterThan(0);
      expect(typeof row.p99Ms).toBe('number');
      expect(row.ofCeiling).toBeGreaterThan(0);
      expect(row.cpuMicrosPerRequest).toBeGreaterThan(0);
      expect(typeof row.upstreamCalls).toBe('number');
    }
    expect(result.machine.cores).toBeGreaterThan(0);
    expect(result.yardsticks.map((yardstick: { name: string }) => yardstick.name)).toEqual([
      'healthy, fresh=5: throughput',
      'healthy, fresh=5: app CPU per request',
      'PostHog hanging: loaded p99',
      'PostHog hanging: serial p99',
      'PostHog hanging: last known values',
      'PostHog refusing: loaded p99',
      'PostHog refusing: serial p99',
      'PostHog refusing: last known values',
      'healthy, fresh=5: exposure events cost',
      'PostHog starts hanging: p99',
      'PostHog starts hanging: last known values',
    ]);
    for (const yardstick of result.yardsticks) expect(typeof yardstick.met).toBe('boolean');
    expect(Object.keys(result.roundRatios).sort()).toEqual([
      'allows all, no lookup',
      'nestjs-posthog-flags, no exposure events',
      'same denials, no lookup',
      'unguarded',
    ]);
    for (const ratios of Object.values(result.roundRatios) as number[][]) expect(ratios).toHaveLength(2);
  }, 180_000);
});
