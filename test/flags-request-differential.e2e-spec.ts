import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PostHog } from 'posthog-node';
import type { FlagContext } from '../src/index.js';
import type { FlagsRequestBody } from './support/fake-posthog.js';
import { TEST_API_KEY } from './support/flags-app.js';
import { useFakePostHog, useStartedFlags } from './support/flags-suite.js';

/** posthog-node's project key here: its requests are told from ours by their `token`. */
const NODE_KEY = 'phc_node_request_body';

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
});
