import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PostHog } from 'posthog-node';
import { ExposureQueue } from '../src/exposures/exposure-queue.js';
import type { FlagContext, FlagsModuleOptions } from '../src/index.js';
import type { FlagsRequestBody } from './support/fake-posthog.js';
import { TEST_API_KEY } from './support/flags-app.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';

/** posthog-node's project key here: its requests are told from ours by their `token`. */
const NODE_KEY = 'phc_node_request_body';

/** Each module setting of `disableGeoip` (left out: the default) with each per-call one. */
const GEOIP_CASES: [string, boolean | undefined, boolean | undefined][] = [undefined, false, true].flatMap((module) =>
  [undefined, false, true].map((call): [string, boolean | undefined, boolean | undefined] => [
    `module ${String(module)}, call ${String(call)}`,
    module,
    call,
  ]),
);

describe("the /flags request body, against posthog-node 5.70's (both on the same fake)", () => {
  const fake = useFakePostHog();
  const started = useStartedFlags(fake);
  let posthog: PostHog;

  beforeAll(() => {
    posthog = new PostHog(NODE_KEY, { host: fake.url, flushAt: 10_000, flushInterval: 0 });
  });

  afterAll(() => posthog.shutdown());

  /** The body of the last `/flags` request made with `token`. */
  const lastBody = (token: string): FlagsRequestBody =>
    fake.requests.filter((request) => request.body.token === token).at(-1)!.body;

  /** The fields of a body this test compares. */
  const fields = (body: FlagsRequestBody, names: readonly string[]) =>
    Object.fromEntries(names.map((name) => [name, Object.hasOwn(body, name) ? body[name] : '(absent)']));

  describe('the device id', () => {
    const DEVICE_FIELDS = ['$device_id', 'person_properties'];

    /** Ours for `context`, posthog-node's with the device id among the person properties (its only way). */
    async function bothBodies(context: FlagContext) {
      const { flags } = await started.start();
      await flags.evaluateFlags(context, { flagKeys: ['beta'] });
      const personProperties = {
        ...(context.deviceId ? { $device_id: context.deviceId } : {}),
        ...context.personProperties,
      };
      await posthog.evaluateFlags(context.distinctId, { personProperties, flagKeys: ['beta'] });
      return { ours: fields(lastBody(TEST_API_KEY), DEVICE_FIELDS), theirs: fields(lastBody(NODE_KEY), DEVICE_FIELDS) };
    }

    it.each<[string, FlagContext]>([
      ['deviceId', { distinctId: 'u-device', deviceId: 'device-1', personProperties: { plan: 'pro' } }],
      ['$device_id among the person properties', { distinctId: 'u-prop', personProperties: { $device_id: 'd-2' } }],
      [
        'both: the person property wins',
        { distinctId: 'u-both', deviceId: 'd-3', personProperties: { $device_id: 'd-4' } },
      ],
      ['no device id', { distinctId: 'u-none', personProperties: { plan: 'free' } }],
    ])('goes at the top level as $device_id and among the person properties: %s', async (_name, context) => {
      const { ours, theirs } = await bothBodies(context);
      expect(ours).toEqual(theirs);
    });

    it('is sent at the top level whenever there is one', async () => {
      const { ours } = await bothBodies({ distinctId: 'u-top', deviceId: 'device-top' });
      expect(ours).toEqual({ $device_id: 'device-top', person_properties: { $device_id: 'device-top' } });
    });
  });

  describe('GeoIP', () => {
    /** posthog-node clients by their `disableGeoip` option (left out: the default), made on first use. */
    const clients = new Map<boolean | undefined, PostHog>();
    const nodeClient = (disableGeoip: boolean | undefined): PostHog => {
      let client = clients.get(disableGeoip);
      if (!client) {
        const options = { host: fake.url, flushAt: 10_000, flushInterval: 0 };
        client = new PostHog(NODE_KEY, disableGeoip === undefined ? options : { ...options, disableGeoip });
        clients.set(disableGeoip, client);
      }
      return client;
    };

    afterAll(() => Promise.all([...clients.values()].map((client) => client.shutdown())));

    /** The `$feature_flag_called` properties sent by `lib` for `distinctId`. */
    const calledBy = (lib: string, distinctId: string) =>
      fake.events
        .filter((event) => event.distinct_id === distinctId && event.properties.$lib === lib)
        .map((event) => event.properties);

    it.each(GEOIP_CASES)(
      'sends geoip_disable and $geoip_disable as posthog-node does: %s',
      async (name, moduleSetting, perCall) => {
        const options: FlagsModuleOptions = moduleSetting === undefined ? {} : { disableGeoip: moduleSetting };
        const harness = await started.start(options);
        const theirs = nodeClient(moduleSetting);
        const distinctId = `u-geoip ${name}`;
        const call = perCall === undefined ? {} : { disableGeoip: perCall };
        (await harness.flags.evaluateFlags(distinctId, { ...call, flagKeys: ['beta'] })).getFlag('beta');
        (await theirs.evaluateFlags(distinctId, { ...call, flagKeys: ['beta'] })).getFlag('beta');
        expect(fields(lastBody(TEST_API_KEY), ['geoip_disable'])).toEqual(
          fields(lastBody(NODE_KEY), ['geoip_disable']),
        );

        await harness.moduleRef.get(ExposureQueue).flush();
        await theirs.flush();
        const [ours] = calledBy('nestjs-posthog-flags', distinctId);
        const [node] = calledBy('posthog-node', distinctId);
        expect(fields(ours!, ['$geoip_disable'])).toEqual(fields(node!, ['$geoip_disable']));
      },
    );

    it('gives a call with another setting an evaluation of its own: both go to PostHog at once', async () => {
      const { flags } = await started.start();
      const asked = fake.requests.length;
      const [usual, located] = await Promise.all([
        flags.evaluateFlags('u-geoip-own'),
        flags.evaluateFlags('u-geoip-own', { disableGeoip: false }),
      ]);
      const bodies = fake.requests.slice(asked).map((request) => request.body.geoip_disable);
      expect(bodies.sort()).toEqual([false, true]);
      expect(usual.getFlagResult('beta', { sendFeatureFlagEvents: false })?.source).toBe('remote');
      expect(located.getFlagResult('beta', { sendFeatureFlagEvents: false })?.source).toBe('remote');
    });

    it("never answers one setting from the fresh window of the other's answer", async () => {
      const { flags } = await started.start({ cacheUrl: 'memory://local?fresh=60' });
      const source = async (disableGeoip?: boolean) => {
        const options = disableGeoip === undefined ? {} : { disableGeoip };
        const snapshot = await flags.evaluateFlags('u-geoip-fresh', { ...options, flagKeys: ['beta'] });
        return snapshot.getFlagResult('beta', { sendFeatureFlagEvents: false })?.source;
      };
      expect(await source()).toBe('remote');
      expect(await source(false)).toBe('remote');
      expect(await source(false)).toBe('cache');
      expect(await source(true)).toBe('remote');
      expect(await source()).toBe('cache');
    });

    it('rejects a disableGeoip that is not a boolean, per call', async () => {
      const { flags } = await started.start();
      await expect(flags.evaluateFlags('u', { disableGeoip: 'no' as unknown as boolean })).rejects.toThrow(
        'FlagsService.evaluateFlags: disableGeoip must be a boolean, got a string',
      );
    });
  });
});
