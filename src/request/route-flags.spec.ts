import { describe, expect, it } from '@jest/globals';
import { EVERY_FLAG_ASKED, markTakesSnapshot, MAX_ROUTE_KEYS, RouteFlags } from './route-flags.js';

describe('RouteFlags', () => {
  it('asks for every flag on a route’s first request, then for what its requests needed', () => {
    const routes = new RouteFlags();
    const handler = () => {};
    expect(routes.ask(handler, ['beta'])).toBe(EVERY_FLAG_ASKED);
    routes.learn(handler, ['checkout', 'beta']);
    const asked = routes.ask(handler, ['beta']);
    expect(asked.keys).toEqual(['beta', 'checkout']);
    expect(asked.options).toEqual({ flagKeys: ['beta', 'checkout'] });
    expect(routes.ask(handler, ['checkout'])).toBe(asked);
  });

  it('asks for every flag once a request needed every flag, or past the bound', () => {
    const routes = new RouteFlags();
    const reader = () => {};
    routes.learn(reader, ['beta']);
    routes.learn(reader, undefined);
    expect(routes.ask(reader, ['beta'])).toBe(EVERY_FLAG_ASKED);

    const many = () => {};
    routes.learn(many, []);
    const keys = Array.from({ length: MAX_ROUTE_KEYS }, (_, index) => `flag-${index}`);
    routes.learn(many, keys);
    expect(routes.ask(many, []).keys).toHaveLength(MAX_ROUTE_KEYS);
    routes.learn(many, ['one-more']);
    expect(routes.ask(many, [])).toBe(EVERY_FLAG_ASKED);
  });

  it('asks for every flag for a handler that takes @Flags()', () => {
    const routes = new RouteFlags();
    const handler = () => {};
    markTakesSnapshot(handler);
    routes.ask(handler, ['beta']);
    expect(routes.ask(handler, ['beta'])).toBe(EVERY_FLAG_ASKED);
    // However the route is first seen (a middleware's snapshot learning for it first).
    const learnedFirst = () => {};
    markTakesSnapshot(learnedFirst);
    expect(routes.learn(learnedFirst, ['beta'])).toBe(EVERY_FLAG_ASKED);
    expect(routes.ask(learnedFirst, ['beta'])).toBe(EVERY_FLAG_ASKED);
  });

  it('learns no key that cannot name a flag, and asks a call without a route only what it needs', () => {
    const routes = new RouteFlags();
    const handler = () => {};
    routes.learn(handler, ['beta', 'x'.repeat(401), '\uD800']);
    expect(routes.ask(handler, []).keys).toEqual(['beta']);
    expect(routes.ask(undefined, ['checkout', 'checkout']).keys).toEqual(['checkout']);
    expect(routes.ask(undefined, undefined)).toBe(EVERY_FLAG_ASKED);
  });
});
