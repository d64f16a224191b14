import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { firstValueFrom } from 'rxjs';
import { eventually } from '../../test/support/eventually.js';
import { FakePostHog } from '../../test/support/fake-posthog.js';
import { resolveFlagsOptions } from '../options/resolve-flags-options.js';
import { PostHogClient } from './posthog-client.js';
import { PostHogExchange } from './posthog-exchange.js';

describe('PostHogClient', () => {
  let fake: FakePostHog;
  let client: PostHogClient;

  beforeAll(async () => {
    fake = await FakePostHog.start();
    client = new PostHogClient(resolveFlagsOptions({ apiKey: 'phc_client_spec', host: fake.url }, {}));
  });
  afterEach(() => {
    jest.restoreAllMocks();
    fake.answer = 'flags';
  });
  afterAll(() => fake.stop());

  it('emits the parsed body of one POST and does not abort a request that has finished', async () => {
    const abort = jest.spyOn(AbortController.prototype, 'abort');
    const body = await firstValueFrom(client.requestFlags({ distinctId: 'user-1' }));
    expect(body).toMatchObject({ flags: expect.any(Object) });
    expect(fake.requests).toHaveLength(1);
    expect(abort).not.toHaveBeenCalled();
  });

  it('aborts the request in flight when unsubscribed', async () => {
    fake.answer = 'hang';
    const abort = jest.spyOn(PostHogExchange.prototype, 'abort');
    const subscription = client.requestFlags({ distinctId: 'user-1' }).subscribe({ error: () => {} });
    await eventually(() => fake.pending === 1, 'the request to reach PostHog');
    subscription.unsubscribe();
    expect(abort).toHaveBeenCalled();
    await eventually(() => fake.pending === 0, 'the request to be aborted');
  });
});
