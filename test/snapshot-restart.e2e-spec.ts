import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CaptureLogger } from './support/capture-logger.js';
import { TEST_SECRET_KEY, standardDefinitions } from './support/definitions.js';
import { eventually } from './support/eventually.js';
import { FakePostHog } from './support/fake-posthog.js';
import { startFlags, TEST_API_KEY, type FlagsHarness } from './support/flags-app.js';

const CHILD = fileURLToPath(new URL('./support/snapshot-child.mjs', import.meta.url));
/** Every flag of the project (its definitions). */
const EVERY_FLAG = ['beta', 'checkout', 'pro-only', 'continuity'];

describe('restarts offline: memory://…?snapshot=<path>', () => {
  let fake: FakePostHog;
  let dir: string;
  let path: string;
  let harness: FlagsHarness | undefined;

  beforeEach(async () => {
    fake = await FakePostHog.start();
    fake.definitions = standardDefinitions();
    fake.setFlags({ 'pro-only': { enabled: true }, continuity: { enabled: true }, 'remote-only': { enabled: true } });
    dir = mkdtempSync(join(tmpdir(), 'flags-snapshot-'));
    path = join(dir, 'flags.json');
  });

  afterEach(async () => {
    await harness?.moduleRef.close();
    harness = undefined;
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const cacheUrl = () => `memory://local?snapshot=${encodeURIComponent(path)}`;
  const options = () => ({
    host: fake.url,
    cacheUrl: cacheUrl(),
    secretKey: TEST_SECRET_KEY,
    localEvaluation: { pollIntervalMs: 1000 },
    retries: 0,
  });

  /** What the snapshot file holds, parsed; `undefined` while it is absent or unreadable. */
  const written = () => {
    try {
      return JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      return undefined;
    }
  };

  it('an app killed with SIGKILL and started again with PostHog down answers from the file at once', async () => {
    const child = spawn(process.execPath, [CHILD, 'u1', 'u2'], {
      env: { ...process.env, CHILD_OPTIONS: JSON.stringify({ apiKey: TEST_API_KEY, ...options() }) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let printed = '';
      child.stdout!.on('data', (chunk: Buffer) => (printed += String(chunk)));
      await eventually(() => printed.includes('evaluated'), 'the child to evaluate its users');
      await eventually(() => {
        const snapshot = written();
        const users = (snapshot?.answers ?? []).map(([id]: [string]) => id).sort();
        return snapshot?.definitions?.flags?.length === 4 && users.join() === 'u1,u2';
      }, 'the snapshot with the definitions and both users');
      child.kill('SIGKILL');
      await once(child, 'exit');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain(TEST_API_KEY);
    expect(text).not.toContain(TEST_SECRET_KEY);
    expect(statSync(path).mode & 0o777).toBe(0o600);

    await fake.stop(); // PostHog is down from here on
    const logs = new CaptureLogger();
    harness = await startFlags(options(), logs);
    const { flags } = harness;
    expect(flags.isLocalEvaluationReady()).toBe(true);
    expect(flags.status().definitions).toMatchObject({ source: 'snapshot', flags: 4 });

    // Every flag of a seen user: decided locally, or its last answer from PostHog.
    for (const distinctId of ['u1', 'u2']) {
      const results = await flags.getFlagResults(distinctId, EVERY_FLAG);
      expect(Object.fromEntries([...results].map(([key, result]) => [key, [result.source, result.enabled]]))).toEqual({
        beta: ['local', true],
        checkout: ['local', true],
        'pro-only': ['fallback', true],
        continuity: ['fallback', true],
      });
    }
    // A new user: every flag the definitions decide, from the file.
    const stranger = await flags.getFlagResults({ distinctId: 'new-user', personProperties: { plan: 'pro' } }, [
      'beta',
      'checkout',
      'pro-only',
    ]);
    expect([...stranger.values()].map((result) => [result.key, result.source, result.enabled])).toEqual([
      ['beta', 'local', true],
      ['checkout', 'local', true],
      ['pro-only', 'local', true],
    ]);
    expect(logs.at('warn').filter((line) => line.includes('snapshot'))).toEqual([]);
  });

  it.each<[string, () => void, RegExp]>([
    ['a corrupt file', () => writeFileSync(path, '{"format": nope'), /not JSON \(corrupt or truncated/],
    [
      'a truncated file',
      () => writeFileSync(path, JSON.stringify(snapshotOf('abc')).slice(0, 40)),
      /not JSON \(corrupt or truncated/,
    ],
    [
      "another project's file",
      () => writeFileSync(path, JSON.stringify(snapshotOf('0000000000000000'))),
      /another project's/,
    ],
    ['an oversized file', () => writeFileSync(path, ' '.repeat(4096)), /over snapshotMaxBytes \(2048\)/],
    ['a file of another format', () => writeFileSync(path, '{"flags":[]}'), /no nestjs-posthog-flags snapshot/],
  ])('%s is one warning and an empty start, never a crash', async (_name, write, why) => {
    write();
    fake.definitionsAnswer = 503;
    const logs = new CaptureLogger();
    harness = await startFlags({ ...options(), cacheUrl: `${cacheUrl()}&snapshotMaxBytes=2048` }, logs);
    expect(logs.at('warn').filter((line) => line.includes('snapshot'))).toEqual([
      expect.stringMatching(new RegExp(`^flags snapshot .* not used: .*${why.source}.*; starting empty`)),
    ]);
    expect(harness.flags.status().definitions).toMatchObject({ source: 'none', ready: false });
    expect(await harness.flags.getFlagResult('remote-only', 'u1')).toMatchObject({ source: 'remote' });
  });

  it('writes atomically: no temporary file is left beside it, and an absent file is a quiet empty start', async () => {
    const logs = new CaptureLogger();
    harness = await startFlags(options(), logs);
    expect(existsSync(path)).toBe(false);
    await eventually(() => harness!.flags.isLocalEvaluationReady(), 'the definitions');
    await harness.flags.getFlagResults('u1');
    await harness.moduleRef.close();
    harness = undefined;
    expect(written()).toMatchObject({
      definitions: { flags: expect.any(Array) },
      answers: [['u1', expect.any(Array)]],
    });
    expect(readdirSync(dir)).toEqual(['flags.json']);
    expect(logs.at('warn').filter((line) => line.includes('snapshot'))).toEqual([]);
  });
});

/** A snapshot-shaped body of the project with this fingerprint. */
function snapshotOf(fingerprint: string): Record<string, unknown> {
  return {
    format: 'nestjs-posthog-flags snapshot',
    version: 1,
    project_fingerprint: fingerprint,
    definitions: standardDefinitions(),
    answers: [],
  };
}
