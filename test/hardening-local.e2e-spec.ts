import 'reflect-metadata';
import { describe, expect, it, jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ExposureQueue } from '../src/exposures/exposure-queue.js';
import { FlagsOverrides } from '../src/testing/index.js';
import { standardDefinitions } from './support/definitions.js';
import { dependencyChain, type ChainShape } from './support/dependency-chain.js';
import { PROTOTYPE_NAMES, prototypeNameDefinitions } from './support/prototype-names.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';
import { posthogNodeOracle } from './support/posthog-node-oracle.js';

/** Hardening II (local evaluation, payloads, overrides): each finding as the behaviour it must have now. */
describe('hardening II', () => {
  const fake = useFakePostHog();
  const started = useStartedFlags(fake);

  const { startLocal } = started;

  describe('10. an override sends no exposure event', () => {
    it('for the service calls and for the remote, local and overridden flags alike', async () => {
      fake.setFlags({ 'pro-only': { enabled: true } });
      const { flags, moduleRef } = await startLocal(standardDefinitions(), { overrides: { beta: false } });
      const overrides = moduleRef.get(FlagsOverrides);
      overrides.set('checkout', (context) => (context.distinctId === 'u1' ? 'forced' : undefined));
      expect(await flags.getFlagResult('beta', 'u1')).toMatchObject({ enabled: false, source: 'override' });
      expect(await flags.getFlag('checkout', 'u1')).toBe('forced');
      expect(await flags.isEnabled('pro-only', 'u1')).toBe(true);
      expect((await flags.getFlagResult('checkout', 'u2'))?.source).toBe('local');
      await moduleRef.get(ExposureQueue).flush();
      const exposed = fake.events
        .filter((event) => event.event === '$feature_flag_called')
        .map((event) => `${event.distinct_id} ${String(event.properties.$feature_flag)}`);
      expect(exposed).toEqual(['u1 pro-only', 'u2 checkout']);
    });
  });

  describe('6. flag dependency chains: linear work, the same answers as posthog-node', () => {
    it.each<ChainShape>(['full', 'parent', 'reversed'])('30 levels, %s chains', async (shape) => {
      const body = dependencyChain(30, shape);
      const { flags } = await startLocal(body);
      const posthog = posthogNodeOracle(fake.url, 'dependencies');
      const quiet = jest.spyOn(console, 'warn').mockImplementation(() => {});
      try {
        for (const plan of ['pro', 'free']) {
          const context = { distinctId: `u-${plan}`, personProperties: { plan } };
          const theirs = await posthog.getAllFlags(context.distinctId, {
            personProperties: context.personProperties,
            onlyEvaluateLocally: true,
          });
          const ours = await flags.getAllFlags(context);
          expect(Object.keys(theirs)).toHaveLength(31);
          expect(ours).toEqual(theirs);
        }
      } finally {
        await posthog.shutdown();
        quiet.mockRestore();
      }
    });
  });

  describe('4. remembered local answers share the payloads, parsed once per set of definitions', () => {
    it('10 flags × 95 KiB payloads, every flag remembered for 1,200 users: heap growth ≤ 64 MiB', async () => {
      // In a process of its own (built package, --expose-gc), its heap capped so that answers holding a payload
      // each (1.2 GiB here) fail fast instead of loading the machine.
      const script = fileURLToPath(new URL('./support/local-answers-heap.mjs', import.meta.url));
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--expose-gc', '--max-old-space-size=384', script, '10', String(95 * 1024), '1200'],
        { timeout: 60_000 },
      );
      const { growth, payloadsSeen, payloadLength } = JSON.parse(stdout) as Record<string, number>;
      expect(payloadLength).toBeGreaterThan(90 * 1024);
      expect(payloadsSeen).toBe(12_000);
      expect(growth).toBeLessThanOrEqual(64 * 2 ** 20);
    }, 90_000);
  });

  describe('5. a payload handed out is deeply frozen: a write throws, the next read is the original', () => {
    /** Tries `payload.discount.percent *= 5` (strict mode, as this module is): it must throw. */
    const tamperWith = (payload: unknown) => () => {
      (payload as { discount: { percent: number } }).discount.percent *= 5;
    };
    const DISCOUNT = { discount: { percent: 10 } };

    it('local: the same user, the next request', async () => {
      const definitions = standardDefinitions() as { flags: { filters: { payloads?: unknown } }[] };
      definitions.flags[0]!.filters.payloads = { true: JSON.stringify(DISCOUNT) };
      const { flags } = await startLocal(definitions);
      const first = await flags.getFlagResult('beta', 'u1');
      expect(first?.source).toBe('local');
      expect(tamperWith(first?.payload)).toThrow(TypeError);
      expect(() => Object.assign(first!.payload as object, { extra: 1 })).toThrow(TypeError);
      expect(await flags.getFlagPayload('beta', 'u1')).toEqual(DISCOUNT);
      expect((await flags.bootstrap('u2')).featureFlagPayloads.beta).toEqual(DISCOUNT);
    });

    it('remote, then from the cache, then as a fallback, and an override', async () => {
      fake.setFlags({ beta: { enabled: true, payload: DISCOUNT } });
      const { flags } = await started.start({
        cacheUrl: 'memory://local?fresh=60',
        overrides: { promo: { value: true, payload: { discount: { percent: 10 } } } },
      });
      const { flags: unfresh } = await started.start({ cacheUrl: 'memory://local' });
      const answers = [
        await flags.getFlagResult('beta', 'u1'),
        await flags.getFlagResult('beta', 'u1'),
        await unfresh.getFlagResult('beta', 'u1'),
        await flags.getFlagResult('promo', 'u1'),
      ];
      fake.answer = 503;
      answers.push(await unfresh.getFlagResult('beta', 'u1'));
      expect(answers.map((answer) => answer?.source)).toEqual(['remote', 'cache', 'remote', 'override', 'fallback']);
      for (const answer of answers) expect(tamperWith(answer?.payload)).toThrow(TypeError);
      expect(await flags.getFlagPayload('beta', 'u1')).toEqual(DISCOUNT);
      expect(await flags.getFlagPayload('promo', 'u1')).toEqual(DISCOUNT);
      expect(await unfresh.getFlagPayload('beta', 'u1')).toEqual(DISCOUNT);
    });
  });

  describe('1. every name of Object.prototype, from outside, is an own name and nothing more', () => {
    const names = PROTOTYPE_NAMES;
    const own = <T>(entries: [string, T][]): Record<string, T> => Object.fromEntries(entries);

    it('as variant key, flag key, property name, group type, group type index and cohort id', async () => {
      const { flags } = await startLocal(prototypeNameDefinitions(names));
      const context = {
        distinctId: 'u1',
        personProperties: own([['plan', 'pro'], ...names.map((name): [string, unknown] => [name, 'yes'])]),
        groups: own(names.map((name) => [name, `${name}-key`])),
        groupProperties: own(names.map((name) => [name, { size: 5 }])),
      };
      const results = await flags.getFlagResults(context);
      const answered = (key: string) =>
        results.get(key) && {
          value: results.get(key)!.variant ?? results.get(key)!.enabled,
          payload: results.get(key)!.payload,
          source: results.get(key)!.source,
        };
      names.forEach((name, index) => {
        expect([name, answered(`variant-${index}`)]).toEqual([
          name,
          { value: name, payload: { variant: name }, source: 'local' },
        ]);
        expect([name, answered(name)]).toEqual([name, { value: true, payload: { flag: name }, source: 'local' }]);
        expect([name, answered(`property-${index}`)]).toEqual([
          name,
          { value: true, payload: undefined, source: 'local' },
        ]);
        expect([name, answered(`group-${index}`)]).toEqual([
          name,
          { value: true, payload: undefined, source: 'local' },
        ]);
        expect([name, answered(`odd-index-${index}`)]).toEqual([name, undefined]);
        expect([name, answered(`cohort-${index}`)]).toEqual([
          name,
          { value: true, payload: undefined, source: 'local' },
        ]);
      });
      expect(Object.prototype).not.toHaveProperty('variant');
      const bootstrap = await flags.bootstrap(context);
      for (const map of [bootstrap.featureFlags, bootstrap.featureFlagPayloads]) {
        expect(Object.getPrototypeOf(map)).toBe(Object.prototype);
        for (const name of names) expect([name, Object.hasOwn(map, name)]).toEqual([name, true]);
      }
      expect(JSON.parse(JSON.stringify(bootstrap.featureFlagPayloads))).toMatchObject(
        own(names.map((name) => [name, { flag: name }])),
      );
    });

    it('as override key in POSTHOG_FLAG_OVERRIDES', async () => {
      const saved = process.env.POSTHOG_FLAG_OVERRIDES;
      process.env.POSTHOG_FLAG_OVERRIDES = names.map((name) => `${name}=true`).join(',');
      try {
        const { flags } = await started.start();
        for (const name of names) {
          expect([name, (await flags.getFlagResult(name, 'u1'))?.source]).toEqual([name, 'override']);
        }
        expect(Object.keys((await flags.bootstrap('u1')).featureFlags).sort()).toEqual(
          expect.arrayContaining([...names].sort()),
        );
      } finally {
        if (saved === undefined) delete process.env.POSTHOG_FLAG_OVERRIDES;
        else process.env.POSTHOG_FLAG_OVERRIDES = saved;
      }
    });
  });

  describe('7. one request sees one answer per flag, whichever source gave it', () => {
    it("the definitions change between the guard's evaluation and the handler's calls: the handler sees the guard's", async () => {
      const { flags } = await startLocal();
      let responseSent!: () => void;
      const requestDone = new Promise<void>((resolve) => (responseSent = resolve));
      // What the @FeatureFlag guard does: every flag, held until the response has been sent.
      const guard = await flags.getFlagResults('u1', undefined, { reuseUntil: requestDone });
      expect(guard.get('beta')).toMatchObject({ enabled: true, source: 'local' });
      const off = standardDefinitions() as { flags: { active: boolean }[] };
      off.flags[0]!.active = false;
      // A poll now (the timer's is a second away, past the hold's 1 s at most).
      fake.definitions = off;
      expect(await flags.reloadFeatureFlags()).toMatchObject({ outcome: 'loaded', from: 'upstream' });
      expect(await flags.isEnabled('beta', 'u2')).toBe(false);

      expect(await flags.isEnabled('beta', 'u1')).toBe(true);
      expect(await flags.getFlagPayload('beta', 'u1')).toEqual({ color: 'blue' });
      expect((await flags.getFlagResults('u1', ['beta'])).get('beta')).toMatchObject({
        enabled: true,
        source: 'local',
      });
      responseSent();
      await requestDone;
      expect(await flags.isEnabled('beta', 'u1')).toBe(false);
    });
  });
});
