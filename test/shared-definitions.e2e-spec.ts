import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { filter } from 'rxjs';
import type { FlagsModuleOptions } from '../src/index.js';
import { fakeClocks, restoreClocks } from './support/clock.js';
import { TEST_SECRET_KEY, standardDefinitions } from './support/definitions.js';
import { eventually } from './support/eventually.js';
import { FakePostHog } from './support/fake-posthog.js';
import { startFlags, TEST_API_KEY, type FlagsHarness } from './support/flags-app.js';
import { redisSuite } from './support/redis-suite.js';
import { RunningFlags } from './support/running-flags.js';

/** Another project: its own API key, its own PostHog. */
const OTHER_API_KEY = 'phc_other_Project_Key_0000000000';

describe('shared flag definitions you can trust (redis://)', () => {
  const redis = redisSuite();
  let fake: FakePostHog;
  const modules = new RunningFlags();
  let service = 0;

  beforeEach(async () => {
    fake = await FakePostHog.start();
    fake.definitions = standardDefinitions();
    service++;
  });

  afterEach(async () => {
    await modules.closeAll();
    await fake.stop();
  });

  const keyOf = () => `posthog:flags:svc-${service}`;
  const sources = (harness: FlagsHarness) => harness.flags.status().definitions.source;
  /** The shared value parsed; `undefined` when absent or no JSON. */
  const stored = async () => {
    try {
      return JSON.parse((await redis.client.get(keyOf())) ?? 'null') ?? undefined;
    } catch {
      return undefined;
    }
  };

  /** An instance on this test's Redis service, polling every second. */
  async function instance(options: FlagsModuleOptions = {}, query = ''): Promise<FlagsHarness> {
    const harness = await startFlags({
      host: fake.url,
      cacheUrl: redis.server.url(`service=svc-${service}${query}`),
      secretKey: TEST_SECRET_KEY,
      localEvaluation: { pollIntervalMs: 1000 },
      retries: 0,
      ...options,
    });
    modules.add(harness);
    return harness;
  }

  /** Resolves after `rounds` more polls of PostHog by anyone. */
  async function polls(rounds: number): Promise<void> {
    const target = fake.definitionsRequests.length + rounds;
    await eventually(() => fake.definitionsRequests.length >= target, `${rounds} polls`, 15_000);
  }

  async function aPoller(): Promise<FlagsHarness> {
    const poller = await instance();
    await eventually(() => poller.flags.status().definitions.poller && sources(poller) === 'upstream', 'a poller');
    await eventually(async () => (await stored())?.etag === fake.definitionsEtag, 'the key published');
    return poller;
  }

  describe('the poller keeps the key true at every poll (a 304 included)', () => {
    const corruptions: [string, () => Promise<unknown>, string][] = [
      ['flushed', () => redis.client.flushall(), 'missing'],
      ['garbage', () => redis.client.set(keyOf(), 'not json {', 'EX', 600), 'altered'],
      ['a wrong shape', () => redis.client.set(keyOf(), '{"flags":"none"}', 'EX', 600), 'altered'],
      [
        "another project's (stamped)",
        () =>
          redis.client.set(
            keyOf(),
            JSON.stringify({ flags: [], project_fingerprint: 'f'.repeat(16), polled_at: new Date().toISOString() }),
            'EX',
            600,
          ),
        'altered',
      ],
    ];

    it.each(corruptions)(
      '%s: republished, one warning, a new instance finds it while PostHog is down',
      async (_, corrupt, said) => {
        const poller = await aPoller();
        await corrupt();
        await eventually(async () => (await stored())?.etag === fake.definitionsEtag, 'the key republished');
        await fake.refuse();
        const cold = await instance();
        expect(sources(cold)).toBe('redis');
        expect(await cold.flags.getFlagResult('beta', 'never-seen')).toMatchObject({ enabled: true, source: 'local' });
        // Nest's logger is process-wide: the poller's line may land in the capture of the instance started after it.
        const warnings = [poller, cold]
          .flatMap((harness) => harness.logs.at('warn'))
          .filter((line) => line.includes(`at key "${keyOf()}"`));
        expect(warnings).toEqual([expect.stringContaining(said)]);
        expect(await redis.client.ttl(keyOf())).toBeGreaterThan(86_000);
      },
    );

    it("a foreign sidecar: the poller overwrites another project's definitions and says so", async () => {
      const poller = await aPoller();
      const meta = JSON.parse((await redis.client.get(`${keyOf()}:meta`))!);
      await redis.client.set(`${keyOf()}:meta`, JSON.stringify({ ...meta, project_fingerprint: '0123456789abcdef' }));
      await eventually(
        async () => JSON.parse((await redis.client.get(`${keyOf()}:meta`))!).project_fingerprint !== '0123456789abcdef',
        'the sidecar',
      );
      expect(poller.logs.at('warn')).toEqual([expect.stringContaining("another project's")]);
    });
  });

  it('another project on the same prefix and service: not adopted, one warning naming them, it polls its own PostHog', async () => {
    await aPoller();
    const other = await FakePostHog.start();
    try {
      const theirs = standardDefinitions();
      (theirs.flags as { active: boolean }[])[0]!.active = false;
      other.definitions = theirs;
      const second = await instance({ apiKey: OTHER_API_KEY, host: other.url });
      await eventually(() => sources(second) === 'upstream', 'its own definitions');
      expect(second.flags.status().definitions.poller).toBe(false);
      expect(await second.flags.getFlagResult('beta', 'u1')).toMatchObject({ enabled: false, source: 'local' });
      await polls(3);
      expect(await second.flags.isEnabled('beta', 'u1')).toBe(false);
      const warnings = second.logs.at('warn');
      expect(warnings).toEqual([expect.stringContaining('another project')]);
      expect(warnings[0]).toContain(`prefix "posthog:flags:", service "svc-${service}"`);
      expect((await stored()).flags[0].active).toBe(true); // it never publishes
      expect(second.logs.text).not.toContain(OTHER_API_KEY);
    } finally {
      await other.stop();
    }
  });

  it('a follower reads the big value only when it changed, and never one over the bound', async () => {
    const many = standardDefinitions();
    const padding = 'x'.repeat(500);
    (many.flags as unknown[]).push(
      ...Array.from({ length: 2000 }, (_, index) => ({
        id: 100 + index,
        key: `f-${index}`,
        active: true,
        name: padding,
      })),
    );
    fake.definitions = many;
    await aPoller();
    const size = await redis.client.strlen(keyOf());
    expect(size).toBeGreaterThan(1_000_000);
    const follower = await instance();
    expect(sources(follower)).toBe('redis');
    const outputBytes = async () => Number(/total_net_output_bytes:(\d+)/.exec(await redis.client.info('stats'))![1]);
    const before = await outputBytes();
    await polls(4);
    expect(await outputBytes()).toBeLessThan(before + size / 2);

    const bounded = await instance({}, `&maxDefinitionsBytes=${size - 1}`);
    expect(sources(bounded)).toBe('none');
    await polls(3);
    const warnings = bounded.logs.at('warn').filter((line) => line.includes(`over the ${size - 1}-byte bound`));
    expect(warnings).toHaveLength(1);
  });

  it('staleness from the poll time: PostHog failing for 3 intervals makes every instance stale, one warning each', async () => {
    const poller = await aPoller();
    const follower = await instance();
    expect(follower.flags.status().definitions).toMatchObject({ source: 'redis', stale: false });
    fake.definitionsAnswer = 503;
    const failedAt = fake.definitionsRequests.length;
    await eventually(
      () => poller.flags.status().definitions.stale && follower.flags.status().definitions.stale,
      'stale',
      15_000,
    );
    expect(follower.flags.status().definitions.polledAt).toEqual(poller.flags.status().definitions.polledAt);
    await eventually(() => fake.definitionsRequests.length >= failedAt + 6, 'more failed polls', 15_000);
    // Nest's logger is process-wide: each instance's line lands in the last started one's capture.
    const warnings = [poller, follower].flatMap((harness) => harness.logs.at('warn'));
    expect(warnings.filter((line) => line.includes('flag definitions are stale'))).toHaveLength(2);
    fake.definitionsAnswer = undefined;
    await eventually(
      () => !poller.flags.status().definitions.stale && !follower.flags.status().definitions.stale,
      'fresh',
    );
  });

  it('a lock held by someone who never publishes: followers poll PostHog themselves and follow its changes', async () => {
    const first = await aPoller();
    const second = await instance();
    await redis.client.set(`${keyOf()}:lock`, 'someone-else', 'PX', 120_000); // held, never published under
    const changed = standardDefinitions();
    (changed.flags as { active: boolean }[])[0]!.active = false;
    fake.definitions = changed;
    for (const harness of [first, second]) {
      await eventually(async () => (await harness.flags.isEnabled('beta', 'u1')) === false, 'beta off', 15_000);
      expect(harness.flags.status().definitions).toMatchObject({ poller: false, stale: false });
    }
  });

  it('a lock left without a TTL is given one (its holder kept), one warning, and the poller role is taken over', async () => {
    const first = await aPoller();
    const second = await instance();
    const lockKey = `${keyOf()}:lock`;
    await redis.client.set(lockKey, 'someone-else'); // no TTL: it would never expire
    await eventually(async () => (await redis.client.pttl(lockKey)) > 0, 'the lock given a TTL');
    expect(await redis.client.get(lockKey)).toBe('someone-else');
    expect(await redis.client.pttl(lockKey)).toBeLessThanOrEqual(5000);
    await eventually(
      async () => !['someone-else', null].includes(await redis.client.get(lockKey)),
      'the takeover',
      9000,
    );
    await redis.client.expire(keyOf(), 100);
    await eventually(async () => (await redis.client.ttl(keyOf())) > 86_000, 'the key kept by the new poller');
    // Nest's logger is process-wide: each instance's line lands in the last started one's capture.
    const warnings = [first, second].flatMap((harness) => harness.logs.at('warn'));
    expect(warnings.filter((line) => line.includes('had no TTL'))).toEqual([
      expect.stringContaining(`poller lock of key "${keyOf()}"`),
    ]);
  });

  it('a lock key of another Redis type is replaced: one poller for the fleet again, one warning', async () => {
    const first = await aPoller();
    const second = await instance();
    const lockKey = `${keyOf()}:lock`;
    await redis.client.multi().del(lockKey).hset(lockKey, 'holder', 'someone-else').exec(); // nobody could ever hold it
    await eventually(async () => (await redis.client.type(lockKey)) === 'string', 'the lock replaced');
    expect(await redis.client.pttl(lockKey)).toBeGreaterThan(0);
    const pollers = () => [first, second].filter((harness) => harness.flags.status().definitions.poller);
    await eventually(() => pollers().length === 1, 'one poller');
    await polls(2);
    expect(pollers()).toHaveLength(1);
    // Nest's logger is process-wide: each instance's line lands in the last started one's capture.
    const lines = [first, second].flatMap((harness) => harness.logs.at('warn'));
    expect(lines.filter((line) => line.includes('another Redis type'))).toEqual([
      expect.stringContaining(`poller lock of key "${keyOf()}"`),
    ]);
    expect(lines.join('\n')).not.toMatch(/WRONGTYPE|unavailable/);
  });

  it('a poll time ahead of this clock (a publisher whose clock ran ahead, now dead) does not freeze followers', async () => {
    const publisher = await aPoller();
    const follower = await instance();
    await modules.close(publisher.moduleRef);
    // From here time passes on the module's clocks only when the test moves them (timers and I/O run for real):
    // no elapsed time is measured, the follower is shown to poll PostHog once 3 intervals (3 s) pass, not an hour.
    fakeClocks(Date.now());
    try {
      await redis.client.set(`${keyOf()}:lock`, 'skewed-poller', 'PX', 120_000); // held, never renewed nor published under
      const anHourAhead = new Date(Date.now() + 3_600_000).toISOString();
      const value = { ...(await stored()), polled_at: anHourAhead };
      const text = JSON.stringify(value);
      const meta = JSON.parse((await redis.client.get(`${keyOf()}:meta`))!);
      await redis.client.set(keyOf(), text, 'EX', 600);
      await redis.client.set(
        `${keyOf()}:meta`,
        JSON.stringify({ ...meta, polled_at: anHourAhead, published_at: anHourAhead, bytes: Buffer.byteLength(text) }),
      );
      // Read, the poll time an hour ahead counts as a poll now (never later than now).
      const readAt = Date.now();
      const polledAt = () => follower.flags.status().definitions.polledAt?.getTime();
      await eventually(() => polledAt() === readAt, 'the poll time ahead read');
      const changed = standardDefinitions();
      (changed.flags as { active: boolean }[])[0]!.active = false;
      fake.definitions = changed;
      jest.setSystemTime(Date.now() + 3 * 1000 + 1); // 3 poll intervals (and 1 ms) pass on both clocks
      await eventually(async () => (await follower.flags.isEnabled('beta', 'u1')) === false, 'beta off');
      expect(polledAt()).toBeLessThanOrEqual(Date.now());
    } finally {
      restoreClocks();
    }
  });

  it('a sidecar of another Redis type is rewritten: the poller republishes, a new instance finds the key', async () => {
    const poller = await aPoller();
    await redis.client.del(`${keyOf()}:meta`);
    await redis.client.hset(`${keyOf()}:meta`, 'x', '1');
    await redis.client.del(keyOf());
    await eventually(async () => (await redis.client.type(`${keyOf()}:meta`)) === 'string', 'the sidecar rewritten');
    await eventually(async () => (await stored())?.etag === fake.definitionsEtag, 'the key republished');
    await fake.refuse();
    const cold = await instance();
    expect(sources(cold)).toBe('redis');
    for (const text of [poller.logs.text, cold.logs.text]) {
      expect(text).not.toContain('WRONGTYPE');
      expect(text).not.toContain('publishing the flag definitions');
    }
  });

  it('a key of another Redis type is unusable, not unreachable: followers say so, the poller republishes', async () => {
    await aPoller();
    const lockKey = `${keyOf()}:lock`;
    const ours = await redis.client.get(lockKey);
    await redis.client.set(lockKey, 'someone-else', 'PX', 120_000); // nobody repairs meanwhile
    await redis.client.del(keyOf());
    await redis.client.hset(keyOf(), 'flags', '[]');
    fake.definitionsAnswer = 503;
    const cold = await instance();
    expect(sources(cold)).toBe('none');
    const lines = cold.logs.at('warn');
    expect(lines.filter((line) => line.includes('another Redis type'))).toEqual([
      expect.stringContaining(`key "${keyOf()}" holds another Redis type`),
    ]);
    expect(cold.logs.text).not.toContain('unavailable (');
    fake.definitionsAnswer = undefined;
    await redis.client.set(lockKey, ours!, 'PX', 5000); // the poller holds it again
    await eventually(async () => (await redis.client.type(keyOf())) === 'string', 'the key rewritten');
    await eventually(async () => (await stored())?.etag === fake.definitionsEtag, 'the key republished');
    expect(cold.logs.at('warn').filter((line) => line.includes('altered'))).toHaveLength(1);
  });

  it('a huge sidecar is never read whole (at most 4 KiB of it a round)', async () => {
    fake.definitionsAnswer = 503;
    await redis.client.set(`${keyOf()}:lock`, 'someone-else', 'PX', 120_000);
    await redis.client.set(`${keyOf()}:meta`, 'x'.repeat(8 * 1024 * 1024));
    const outputBytes = async () => Number(/total_net_output_bytes:(\d+)/.exec(await redis.client.info('stats'))![1]);
    const before = await outputBytes();
    const follower = await instance();
    await polls(3);
    expect(follower.flags.status().definitions.source).toBe('none');
    expect(await outputBytes()).toBeLessThan(before + 1_000_000);
  });

  it('stale with nothing loaded: the warning says no definitions are loaded', async () => {
    fake.definitionsAnswer = 'hang';
    const alone = await instance();
    await eventually(() => alone.logs.at('warn').some((line) => line.includes('are stale')), 'the stale line', 15_000);
    const line = alone.logs.at('warn').find((warning) => warning.includes('are stale'))!;
    expect(line).toContain('no definitions are loaded');
    expect(line).not.toContain('evaluating with the definitions loaded');
    expect(line).toContain('not polled successfully by any instance');
  });

  it('takeover after a crash within 3 intervals (5 s at 1 s): the lock TTL follows the interval', async () => {
    const child = spawn(process.execPath, [fileURLToPath(new URL('./support/poller-child.mjs', import.meta.url))], {
      env: {
        ...process.env,
        CHILD_OPTIONS: JSON.stringify({
          apiKey: TEST_API_KEY,
          host: fake.url,
          cacheUrl: redis.server.url(`service=svc-${service}`),
          secretKey: TEST_SECRET_KEY,
          localEvaluation: { pollIntervalMs: 1000 },
        }),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let printed = '';
      child.stdout!.on('data', (chunk: Buffer) => (printed += String(chunk)));
      await eventually(() => printed.includes('poller'), 'the child to hold the lock');
      await eventually(async () => (await stored())?.etag === fake.definitionsEtag, 'the key published');
      const follower = await instance();
      expect(follower.flags.status().definitions).toMatchObject({ source: 'redis', poller: false });
      const held = await redis.client.get(`${keyOf()}:lock`);
      const ttl = await redis.client.pttl(`${keyOf()}:lock`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(5000);
      child.kill('SIGKILL');
      await once(child, 'exit');
      // The takeover waits for the crashed poller's lock to expire (its TTL, at most 5 s, asserted above) and the
      // follower's next round: no elapsed time is measured here.
      await eventually(() => follower.flags.status().definitions.poller, 'the takeover');
      expect(await redis.client.get(`${keyOf()}:lock`)).not.toBe(held);
      expect(await redis.client.pttl(`${keyOf()}:lock`)).toBeLessThanOrEqual(5000);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('a posthog-python poller holding the lock with its own 60 s TTL: followers read its key, nobody else polls', async () => {
    // What posthog-python's RedisFlagCache does: the lock for 60 s, the key without any field of ours.
    const write = (definitions: Record<string, unknown>) =>
      redis.client.set(keyOf(), JSON.stringify(definitions), 'EX', 86_400);
    await redis.client.set(`${keyOf()}:lock`, 'python-poller-uuid', 'PX', 60_000);
    await write(standardDefinitions());
    const follower = await instance();
    expect(sources(follower)).toBe('redis');
    const rounds = async () =>
      Number(/cmdstat_eval:calls=(\d+)/.exec(await redis.client.info('commandstats'))?.[1] ?? 0);
    const start = await rounds();
    await eventually(async () => (await rounds()) >= start + 7, 'seven rounds', 15_000);
    expect(fake.definitionsRequests).toHaveLength(0);
    expect(follower.flags.status().definitions).toMatchObject({ poller: false, stale: false, source: 'redis' });
    const changed = standardDefinitions();
    (changed.flags as { active: boolean }[])[0]!.active = false;
    await write(changed);
    await eventually(async () => (await follower.flags.isEnabled('beta', 'u1')) === false, 'the new definitions');
    expect(await redis.client.get(`${keyOf()}:lock`)).toBe('python-poller-uuid');
  });

  it('Redis down at startup: one load, then 304s with the ETag kept here; the remembered answers stay', async () => {
    const solo = await startFlags({
      host: fake.url,
      cacheUrl: `redis://127.0.0.1:${redis.server.port + 1}/0?service=unreachable`,
      secretKey: TEST_SECRET_KEY,
      localEvaluation: { pollIntervalMs: 1000 },
    });
    modules.add(solo);
    let loads = 0;
    solo.flags.events$.pipe(filter((event) => event.type === 'definitions_loaded')).subscribe(() => loads++);
    await eventually(() => sources(solo) === 'upstream', 'definitions from PostHog');
    await polls(4);
    expect(loads).toBeLessThanOrEqual(1);
    expect(
      fake.definitionsRequests.slice(1).every((request) => request.headers['if-none-match'] === fake.definitionsEtag),
    ).toBe(true);
  });

  it('a 20,000-deep cohort is published (no stack overflow), the ETag moves, nothing says Redis is unavailable', async () => {
    const depth = 20_000;
    const leaf = '{"key":"plan","type":"person","operator":"exact","value":"pro"}';
    const cohort = '{"type":"AND","values":['.repeat(depth) + leaf + ']}'.repeat(depth);
    const beta =
      '{"id":1,"key":"beta","active":true,"filters":{"groups":[{"properties":[],"rollout_percentage":100}]}}';
    fake.definitions = `{"flags":[${beta}],"group_type_mapping":{},"cohorts":{"7":${cohort}}}`;
    const poller = await instance();
    await eventually(async () => (await stored())?.etag === fake.definitionsEtag, 'the deep definitions published');
    expect(poller.flags.status().definitions.etag).toBe(fake.definitionsEtag);
    expect(poller.logs.text).not.toContain('unavailable');
    const follower = await instance();
    expect(await follower.flags.getFlagResult('beta', 'u1')).toMatchObject({ enabled: true, source: 'local' });
  });
});
