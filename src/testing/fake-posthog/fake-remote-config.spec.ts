import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { FakePostHog } from './fake-posthog.js';

/** The path posthog-node asks for a flag's remote config payload. */
const pathOf = (encodedKey: string) =>
  `/api/projects/@current/feature_flags/${encodedKey}/remote_config?token=phc_project`;

describe('FakePostHog remote config', () => {
  let fake: FakePostHog;

  beforeEach(async () => {
    fake = await FakePostHog.start();
  });
  afterEach(() => fake.close());

  async function get(path: string, bearer = 'phs_secret'): Promise<[number, string]> {
    const headers: Record<string, string> = bearer ? { Authorization: `Bearer ${bearer}` } : {};
    const response = await fetch(`${fake.url}${path}`, { headers });
    return [response.status, await response.text()];
  }

  it('answers the payload set for a key as the JSON value of its body, 404 for a key without one', async () => {
    fake.setRemoteConfig('banner', JSON.stringify({ title: 'hi' })).setRemoteConfig('raw', { a: 1 });
    expect(await get(pathOf('banner'))).toEqual([200, JSON.stringify('{"title":"hi"}')]);
    expect(await get(pathOf('raw'))).toEqual([200, '{"a":1}']);
    expect((await get(pathOf('other')))[0]).toBe(404);
    fake.setRemoteConfig('banner', undefined);
    expect((await get(pathOf('banner')))[0]).toBe(404);
  });

  it('records each request with its key decoded and its token; 401 without a bearer key', async () => {
    fake.setRemoteConfig('a/b c', 'null');
    expect(await get(pathOf(encodeURIComponent('a/b c')))).toEqual([200, '"null"']);
    expect((await get(pathOf('a%2Fb%20c'), ''))[0]).toBe(401);
    expect(fake.remoteConfigRequests).toEqual([
      expect.objectContaining({ key: 'a/b c', token: 'phc_project', url: pathOf('a%2Fb%20c') }),
      expect.objectContaining({ key: 'a/b c', token: 'phc_project' }),
    ]);
    const [sent, unauthorized] = fake.remoteConfigRequests;
    expect([sent!.headers.authorization, unauthorized!.headers.authorization]).toEqual([
      'Bearer phs_secret',
      undefined,
    ]);
    expect((await get(pathOf('%E0%A4%A')))[0]).toBe(400);
  });

  it('outages apply: a status, quota-limited (402), down; reset() forgets payloads and requests', async () => {
    fake.setRemoteConfig('banner', '1');
    await fake.setOutage(503);
    expect((await get(pathOf('banner')))[0]).toBe(503);
    await fake.setOutage('quota-limited');
    expect(await get(pathOf('banner'))).toEqual([402, expect.stringContaining('quota_limited')]);
    await fake.setOutage('down');
    await expect(get(pathOf('banner'))).rejects.toThrow();
    await fake.setOutage(undefined);
    expect(await get(pathOf('banner'))).toEqual([200, '"1"']);
    await fake.reset();
    expect(fake.remoteConfigRequests).toEqual([]);
    expect((await get(pathOf('banner')))[0]).toBe(404);
  });
});
