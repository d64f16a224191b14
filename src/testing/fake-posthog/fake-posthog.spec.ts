import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { FakePostHog } from './fake-posthog.js';

/** What a client sees of one request: status, headers, parsed JSON body (or the raw text). */
interface Seen {
  status: number;
  headers: Headers;
  body: unknown;
}

describe('FakePostHog', () => {
  let fake: FakePostHog;

  beforeEach(async () => {
    fake = await FakePostHog.start();
  });
  afterEach(() => fake.close());

  async function send(path: string, init: RequestInit = {}): Promise<Seen> {
    const response = await fetch(`${fake.url}${path}`, init);
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: kept as text
    }
    return { status: response.status, headers: response.headers, body };
  }

  const flags = (body: Record<string, unknown>) =>
    send('/flags/?v=2', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: fake.apiKey, ...body }),
    });

  it('answers every flag of its table, enabled: false (no_condition_match) for those that are off', async () => {
    fake.setFlag('beta', true).setFlag('dark-mode', false).setFlag('checkout', 'test');
    const { status, body } = await flags({ distinct_id: 'u1' });
    expect(status).toBe(200);
    expect(body).toEqual({
      flags: {
        beta: {
          key: 'beta',
          enabled: true,
          reason: { code: 'condition_match', condition_index: 0, description: 'Condition set 1 matched' },
          metadata: { id: 1, version: 1 },
        },
        'dark-mode': {
          key: 'dark-mode',
          enabled: false,
          reason: { code: 'no_condition_match', condition_index: 0, description: 'No condition sets matched' },
          metadata: { id: 1, version: 1 },
        },
        checkout: expect.objectContaining({ key: 'checkout', enabled: true, variant: 'test' }),
      },
      errorsWhileComputingFlags: false,
      requestId: 'fake-request',
    });
  });

  it('honours flag_keys_to_evaluate', async () => {
    fake.setFlag('beta', true).setFlag('dark-mode', false).setFlag('checkout', 'test');
    const { body } = await flags({ distinct_id: 'u1', flag_keys_to_evaluate: ['checkout', 'dark-mode', 'gone'] });
    expect(Object.keys((body as { flags: object }).flags).sort()).toEqual(['checkout', 'dark-mode']);
  });

  it('sets a flag per user, by a rule of the request, and deletes it', async () => {
    fake.setFlag('beta', false).setFlag('beta', true, { distinctId: 'alice' });
    fake.setFlag('checkout', ({ distinctId, personProperties }) =>
      personProperties.plan === 'pro' ? { value: 'test', reason: 'condition_match' } : distinctId === 'carol',
    );
    const enabledOf = async (body: Record<string, unknown>) => {
      const answer = (await flags(body)).body as { flags: Record<string, { enabled: boolean; variant?: string }> };
      return Object.fromEntries(Object.entries(answer.flags).map(([key, flag]) => [key, flag.variant ?? flag.enabled]));
    };
    expect(await enabledOf({ distinct_id: 'alice' })).toEqual({ beta: true, checkout: false });
    expect(await enabledOf({ distinct_id: 'bob' })).toEqual({ beta: false, checkout: false });
    expect(await enabledOf({ distinct_id: 'bob', person_properties: { plan: 'pro' } })).toEqual({
      beta: false,
      checkout: 'test',
    });
    expect(await enabledOf({ distinct_id: 'carol' })).toEqual({ beta: false, checkout: true });
    fake.deleteFlag('beta');
    expect(await enabledOf({ distinct_id: 'alice' })).toEqual({ checkout: false });
  });

  it('sends payloads as PostHog does, a JSON string in metadata.payload, for flags that are on', async () => {
    fake.setFlag('beta', { value: true, payload: { color: 'blue' } });
    fake.setFlag('promo', { value: false, payload: 10 });
    const { body } = await flags({ distinct_id: 'u1' });
    const answer = body as { flags: Record<string, { metadata: { payload?: string } }> };
    expect(answer.flags.beta!.metadata.payload).toBe('{"color":"blue"}');
    expect(answer.flags.promo!.metadata).not.toHaveProperty('payload');
  });

  it('says failed: true with errorsWhileComputingFlags for a flag PostHog could not evaluate', async () => {
    fake.setFlag('beta', { value: true, failed: true });
    const { body } = await flags({ distinct_id: 'u1' });
    expect(body).toMatchObject({
      flags: { beta: { key: 'beta', enabled: false, failed: true } },
      errorsWhileComputingFlags: true,
    });
  });

  it('answers 500 naming the flag when a rule throws, and rejects settings of no accepted form', async () => {
    fake.setFlag('beta', () => {
      throw new Error('boom');
    });
    expect(await flags({ distinct_id: 'u1' })).toMatchObject({
      status: 500,
      body: { detail: expect.stringContaining('"beta" threw: Error: boom') },
    });
    expect(() => fake.setFlag('beta', 42 as never)).toThrow(TypeError);
    expect(() => fake.setFlag('', true)).toThrow(TypeError);
    await expect(fake.setOutage('sometimes' as never)).rejects.toThrow(TypeError);
  });

  it('keeps what it received: /flags requests, /flags/definitions requests, batches, events and exposures', async () => {
    fake.setFlag('beta', true);
    await flags({ distinct_id: 'u1', flag_keys_to_evaluate: ['beta'] });
    fake.definitions = { flags: [] };
    await send('/flags/definitions?token=phc_x&send_cohorts', { headers: { Authorization: 'Bearer phs_x' } });
    const event = { event: '$feature_flag_called', distinct_id: 'u1', properties: { $feature_flag: 'beta' } };
    const other = { event: '$pageview', distinct_id: 'u1', properties: {} };
    await send('/batch/', { method: 'POST', body: JSON.stringify({ api_key: fake.apiKey, batch: [event, other] }) });

    expect(fake.requests).toEqual([
      expect.objectContaining({
        url: '/flags/?v=2',
        distinctId: 'u1',
        body: { token: fake.apiKey, distinct_id: 'u1', flag_keys_to_evaluate: ['beta'] },
      }),
    ]);
    expect(fake.definitionsRequests).toEqual([
      expect.objectContaining({
        url: '/flags/definitions?token=phc_x&send_cohorts',
        headers: expect.objectContaining({ authorization: 'Bearer phs_x' }),
      }),
    ]);
    expect(fake.batches).toHaveLength(1);
    expect(fake.events).toEqual([event, other]);
    expect(fake.exposures).toEqual([event]);

    await fake.reset();
    expect([fake.requests, fake.definitionsRequests, fake.batches]).toEqual([[], [], []]);
    expect((await flags({ distinct_id: 'u1' })).body).toMatchObject({ flags: {} });
  });

  it('decodes a gzipped /batch/ body; a body that says gzip and is not is a 400, nothing recorded', async () => {
    const body = {
      api_key: fake.apiKey,
      batch: [{ event: '$feature_flag_called', distinct_id: 'u1', properties: {} }],
    };
    const zipped = await send('/batch/', {
      method: 'POST',
      headers: { 'Content-Encoding': 'gzip', 'Content-Type': 'application/json' },
      body: gzipSync(JSON.stringify(body)),
    });
    expect(zipped.status).toBe(200);
    expect(fake.batches[0]!.body).toEqual(body);
    const bad = await send('/batch/', { method: 'POST', headers: { 'Content-Encoding': 'gzip' }, body: '{}' });
    expect(bad.status).toBe(400);
    expect(fake.batches).toHaveLength(1);
  });

  it('serves /flags/definitions with a weak ETag, 304 when If-None-Match has it, 200 again once they change', async () => {
    expect((await send('/flags/definitions')).status).toBe(404);
    fake.definitions = { flags: [{ key: 'beta', active: true }], group_type_mapping: {}, cohorts: {} };
    const first = await send('/flags/definitions');
    expect(first.status).toBe(200);
    expect(first.body).toEqual(fake.definitions);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^W\/".+"$/);
    const again = await send('/flags/definitions', { headers: { 'If-None-Match': etag } });
    expect(again).toMatchObject({ status: 304, body: '' });
    expect(again.headers.get('etag')).toBe(etag);
    fake.definitions = { flags: [], group_type_mapping: {}, cohorts: {} };
    const changed = await send('/flags/definitions', { headers: { 'If-None-Match': etag } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
  });

  describe('outages', () => {
    it('down: connections refused; back on the same port', async () => {
      fake.setFlag('beta', true);
      const url = fake.url;
      await fake.setOutage('down');
      await expect(flags({ distinct_id: 'u1' })).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } });
      await fake.setOutage(undefined);
      expect(fake.url).toBe(url);
      expect((await flags({ distinct_id: 'u1' })).status).toBe(200);
    });

    it('hanging: requests are received and never answered; close() ends them at once', async () => {
      await fake.setOutage('hanging');
      const ended = new Promise<string>((resolve) => {
        const request = httpRequest(`${fake.url}/flags/?v=2`, { method: 'POST' }, () => resolve('answered'));
        request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
        request.end('{"distinct_id":"u1"}');
      });
      await waitFor(() => fake.requests.length === 1);
      await fake.close();
      expect(await ended).toBe('ECONNRESET');
    });

    it('a status: 500 on every endpoint, batches refused and not recorded', async () => {
      fake.definitions = { flags: [] };
      await fake.setOutage(500);
      expect((await flags({ distinct_id: 'u1' })).status).toBe(500);
      expect((await send('/flags/definitions')).status).toBe(500);
      const batch = await send('/batch/', { method: 'POST', body: JSON.stringify({ api_key: 'k', batch: [] }) });
      expect(batch.status).toBe(500);
      expect(fake.batches).toEqual([]);
      expect(fake.requests).toHaveLength(1);
    });

    it('429 with Retry-After (60 s unless told)', async () => {
      await fake.setOutage(429);
      expect((await flags({ distinct_id: 'u1' })).headers.get('retry-after')).toBe('60');
      await fake.setOutage(429, { retryAfterSeconds: 5 });
      const limited = await flags({ distinct_id: 'u1' });
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('5');
    });

    it("quota-limited: PostHog's quota answers on /flags and /flags/definitions; /batch/ still taken", async () => {
      fake.setFlag('beta', true);
      fake.definitions = { flags: [] };
      await fake.setOutage('quota-limited');
      expect(await flags({ distinct_id: 'u1' })).toMatchObject({
        status: 200,
        body: { flags: {}, quotaLimited: ['feature_flags'], errorsWhileComputingFlags: false },
      });
      expect(await send('/flags/definitions')).toMatchObject({ status: 402, body: { type: 'quota_limited' } });
      const batch = await send('/batch/', { method: 'POST', body: JSON.stringify({ api_key: 'k', batch: [] }) });
      expect(batch.status).toBe(200);
      await fake.setOutage(undefined);
      expect((await flags({ distinct_id: 'u1' })).body).toMatchObject({ flags: { beta: { enabled: true } } });
    });
  });

  it('answers 404 for paths it does not serve, and 400 for a /flags body that is not JSON', async () => {
    expect((await send('/capture/')).status).toBe(404);
    expect((await send('/flags/?v=2', { method: 'POST', body: 'not json' })).status).toBe(400);
  });
});

/** Resolves once `probe` is true, asking on each event-loop turn. */
async function waitFor(probe: () => boolean): Promise<void> {
  while (!probe()) await new Promise((resolve) => setImmediate(resolve));
}
