import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { defer, from, throwError, type Observable } from 'rxjs';
import type { CachedFlag, CachedFlags } from '../cache/flag-cache.js';
import { LeanExposures } from '../exposures/lean-exposures.js';
import type { EvaluatedFlag, FlagContext } from '../flags.types.js';
import type { FlagsMonitor } from '../monitor/flags-monitor.js';
import { resolveFlagsOptions } from '../options/resolve-flags-options.js';
import type { ParsedFlags } from '../upstream/flags-response.js';
import type { FlagsUpstream } from '../upstream/flags-upstream.js';
import { UpstreamError } from '../pipeline/upstream-error.js';
import { restoreClocks } from '../../test/support/clock.js';
import type { CacheAccess } from './cache-access.js';
import { evaluationOf } from './evaluation.js';
import { contextKey } from './flag-context.js';
import type { FlagReads } from './flag-reads.js';
import type { StageAnswer } from './stage-answer.js';
import { UpstreamStage } from './upstream-stage.js';

const USER: FlagContext = { distinctId: 'u1' };
const FALLBACK_AFTER_MS = 200;

/** A promise settled from outside. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => (resolve = settle));
  return { promise, resolve };
}

function flag(key: string, enabled: boolean): EvaluatedFlag {
  return { key, enabled, evaluatedAt: new Date(0) };
}

/** PostHog's complete answer with these flags. */
function parsedOf(...flags: EvaluatedFlag[]): ParsedFlags {
  const parsed: ParsedFlags = {
    flags: new Map(flags.map((evaluated) => [evaluated.key, evaluated])),
    failed: new Set(),
    incomplete: false,
    minimalFlagCalledEvents: true,
  };
  return parsed;
}

/**
 * The stage with a fake upstream (answering `answer()` for each call, recorded), a fake cache whose reads find
 * `cached` and whose writes are recorded, and fake reads and monitor.
 */
function stage(
  answer: () => Observable<ParsedFlags>,
  cached: CachedFlags = { flags: [], complete: false },
  options: {
    offline?: boolean;
    saturated?: boolean;
    refusal?: UpstreamError;
    fallbackAfterMs?: number;
    /** The cache reads asynchronously, as Redis does (the memory cache reads synchronously). */
    asyncReads?: boolean;
  } = {},
) {
  const calls: { context: FlagContext; keys?: readonly string[] }[] = [];
  const upstream = {
    saturated: options.saturated ?? false,
    refusal: options.refusal as UpstreamError | undefined,
    evaluate(context: FlagContext, keys?: readonly string[]) {
      calls.push({ context, keys });
      return answer();
    },
  };
  const reads: (readonly string[] | undefined)[] = [];
  const writes: { distinctId: string; flags: string[]; whole: boolean; context: string }[] = [];
  const cache = {
    read(_distinctId: string, keys: readonly string[] | undefined) {
      reads.push(keys);
      return options.asyncReads ? Promise.resolve(cached) : cached;
    },
    write(distinctId: string, flags: readonly EvaluatedFlag[], whole: boolean, context: string) {
      writes.push({ distinctId, flags: flags.map((kept) => kept.key), whole, context });
      return Promise.resolve();
    },
  };
  const flagReads = {
    kept: (_id: string, flags: readonly EvaluatedFlag[]) => flags,
    holdsWhatIsRead: () => false,
    holdsReadOf: () => false,
  };
  const failures: unknown[] = [];
  const monitor = { upstreamFailed: (error: unknown) => failures.push(error), upstreamSucceeded: () => undefined };
  const lean = new LeanExposures();
  const config = {
    ...resolveFlagsOptions({ apiKey: 'phc_test', fallbackAfterMs: options.fallbackAfterMs ?? 0 }, {}),
    ...(options.offline ? { offline: true } : {}),
  };
  const upstreamStage = new UpstreamStage(
    upstream as unknown as FlagsUpstream,
    cache as unknown as CacheAccess,
    flagReads as unknown as FlagReads,
    monitor as unknown as FlagsMonitor,
    lean,
    config,
  );
  return { stage: upstreamStage, upstream, calls, reads, writes, failures, lean };
}

/** The user's known entries for these keys: complete. */
function known(...keys: string[]): CachedFlags {
  return { flags: keys.map((key): CachedFlag => flag(key, false)), complete: true };
}

const question = (keys?: readonly string[]) => evaluationOf(USER, contextKey(USER), keys);

describe('UpstreamStage', () => {
  afterEach(() => restoreClocks());

  it("answers PostHog's answer as remote and writes it to the cache behind it", async () => {
    const { stage: upstream, calls, writes, reads, lean } = stage(() => from([parsedOf(flag('beta', true))]));
    const { results } = await upstream.evaluate(question(['beta']));
    expect(results.get('beta')).toMatchObject({ enabled: true, source: 'remote' });
    expect(calls).toEqual([{ context: USER, keys: ['beta'] }]);
    expect(reads).toEqual([]);
    expect(writes).toEqual([{ distinctId: 'u1', flags: ['beta'], whole: false, context: '' }]);
    expect(lean.enabled).toBe(true);
  });

  it("writes an answer to every flag as the user's whole set", async () => {
    const { stage: upstream, writes } = stage(() => from([parsedOf(flag('beta', true), flag('other', false))]));
    await upstream.evaluate(question());
    expect(writes).toEqual([{ distinctId: 'u1', flags: ['beta', 'other'], whole: true, context: '' }]);
  });

  it("answers a failure from the cache's last known results, as fallback, saying why", async () => {
    const failed = () => throwError(() => new UpstreamError('timeout', 'no answer'));
    const { stage: upstream, writes, failures } = stage(failed, known('beta'));
    const answer = await upstream.evaluate(question(['beta']));
    expect(answer.results.get('beta')).toMatchObject({ enabled: false, source: 'fallback' });
    expect(answer.errors).toEqual({ answer: [], failure: 'timeout' });
    expect(answer.unanswered).toBeUndefined();
    expect(writes).toEqual([]);
    expect(failures).toHaveLength(1);
  });

  it('leaves a failed key with nothing known unanswered', async () => {
    const failed = () => throwError(() => new UpstreamError('connection_refused', 'refused'));
    const { stage: upstream } = stage(failed, { flags: [], complete: false });
    const answer = await upstream.evaluate(question(['beta']));
    expect(answer.results.size).toBe(0);
    expect(answer.unanswered).toEqual(['beta']);
  });

  it('marks a failed answer to every flag partial when the cache lacks the whole set; the answer is frozen', async () => {
    const failed = () => throwError(() => new UpstreamError('timeout', 'no answer'));
    const { stage: upstream } = stage(failed, { flags: [flag('beta', false)], complete: false });
    const answer = await upstream.evaluate(question());
    expect(answer.results.get('beta')).toMatchObject({ source: 'fallback' });
    expect(answer.partial).toBe(true);
    expect(answer.unanswered).toBeUndefined();
    expect(answer.unresolved.size).toBe(0);
    expect(Object.isFrozen(answer)).toBe(true);
  });

  it('answers offline from the cache without asking PostHog', async () => {
    const { stage: upstream, calls } = stage(() => from([parsedOf(flag('beta', true))]), known('beta'), {
      offline: true,
    });
    const answer = upstream.evaluate(question(['beta']));
    expect(answer).not.toBeInstanceOf(Promise);
    expect((await answer).results.get('beta')).toMatchObject({ source: 'fallback' });
    expect(calls).toEqual([]);
  });

  it('answers a known user from the cache at once while every upstream slot is taken', async () => {
    const { stage: upstream, calls } = stage(() => from([parsedOf(flag('beta', true))]), known('beta'), {
      saturated: true,
    });
    expect((await upstream.evaluate(question(['beta']))).results.get('beta')).toMatchObject({ source: 'fallback' });
    expect(calls).toEqual([]);
  });

  it('builds no call while a call would be refused at once: the cache answers, as for a failed call', async () => {
    const refusal = new UpstreamError('circuit_open', 'open');
    const options = { refusal, fallbackAfterMs: FALLBACK_AFTER_MS };
    const {
      stage: upstream,
      calls,
      failures,
    } = stage(() => from([parsedOf(flag('beta', true))]), known('beta'), options);
    // The fake cache reads synchronously, as the memory cache does: so does the answer.
    const answer = upstream.evaluate(question(['beta']));
    if (answer instanceof Promise) throw new Error('a refused call with a synchronous cache answers synchronously');
    expect(answer.results.get('beta')).toMatchObject({ enabled: false, source: 'fallback' });
    expect(answer.errors).toEqual({ answer: [], failure: 'unknown_error' });
    expect(calls).toEqual([]);
    expect(failures).toEqual([refusal]);
    const unknown = stage(() => from([parsedOf(flag('beta', true))]), { flags: [], complete: false }, options);
    const nothingKnown = await unknown.stage.evaluate(question());
    expect(nothingKnown.partial).toBe(true);
    expect((await unknown.stage.evaluate(question(['beta']))).unanswered).toEqual(['beta']);
    expect(unknown.calls).toEqual([]);
  });

  it("makes a read's fallback results once, whatever is asked of them", async () => {
    const refusal = new UpstreamError('circuit_open', 'open');
    const { stage: upstream } = stage(() => from([]), known('beta', 'other'), { refusal });
    const [first, second] = [await upstream.evaluate(question(['beta'])), await upstream.evaluate(question())];
    expect(second.results).toBe(first.results);
    expect([...first.results.keys()]).toEqual(['beta', 'other']);
    const another = stage(() => from([]), known('beta', 'other'), { refusal });
    expect((await another.stage.evaluate(question(['beta']))).results).not.toBe(first.results);
  });

  it("shares a read's answer among evaluations of the same keys refused for the same reason", async () => {
    const refusal = new UpstreamError('circuit_open', 'open');
    const timedOut = () => throwError(() => new UpstreamError('timeout', 'slow'));
    const { stage: upstream, upstream: fake } = stage(timedOut, known('beta', 'other'), { refusal });
    const routeKeys = Object.freeze(['beta']);
    const first = await upstream.evaluate(question(routeKeys));
    expect(await upstream.evaluate(question(routeKeys))).toBe(first);
    // Other keys (another list, even of the same keys), or every flag, get an answer of their own.
    const sameKeys = await upstream.evaluate(question(['beta']));
    expect(sameKeys).not.toBe(first);
    expect(sameKeys).toEqual(first);
    const everyFlag = await upstream.evaluate(question());
    expect(everyFlag).not.toBe(sameKeys);
    expect(everyFlag).toMatchObject({ errors: { failure: 'unknown_error' } });
    expect(everyFlag.partial).toBeUndefined();
    expect(Object.isFrozen(everyFlag)).toBe(true);
    // The same keys, the circuit closed and the call timing out: an answer saying so.
    fake.refusal = undefined;
    const timeout = await upstream.evaluate(question(routeKeys));
    expect(timeout).not.toBe(first);
    expect(timeout.errors).toEqual({ answer: [], failure: 'timeout' });
    expect(timeout.results).toBe(first.results);
  });

  it('answers a refused call once an asynchronous cache has read', async () => {
    const options = { refusal: new UpstreamError('circuit_open', 'open'), asyncReads: true };
    const { stage: upstream, calls } = stage(() => from([]), known('beta'), options);
    const answer = upstream.evaluate(question(['beta']));
    expect(answer).toBeInstanceOf(Promise);
    expect(await answer).toMatchObject({ errors: { answer: [], failure: 'unknown_error' } });
    expect((await answer).results.get('beta')).toMatchObject({ source: 'fallback' });
    expect(calls).toEqual([]);
  });

  it('answers a known user as while every slot is taken when the circuit is open too', async () => {
    const options = { saturated: true, refusal: new UpstreamError('circuit_open', 'open') };
    const { stage: upstream, calls, failures } = stage(() => from([]), known('beta'), options);
    const answer = await upstream.evaluate(question(['beta']));
    expect(answer.results.get('beta')).toMatchObject({ source: 'fallback' });
    expect(answer.errors).toBeUndefined();
    expect(calls).toEqual([]);
    expect(failures).toEqual([]);
  });

  it('joins a call in flight for the same question, even once the circuit is open', async () => {
    const answer = deferred<ParsedFlags>();
    const { stage: upstream, upstream: fake, calls } = stage(() => defer(() => answer.promise), known('beta'));
    upstream.refreshBehind(question(['beta']));
    await new Promise((resolve) => setImmediate(resolve));
    fake.refusal = new UpstreamError('circuit_open', 'open');
    const joined = upstream.evaluate(question(['beta']));
    answer.resolve(parsedOf(flag('beta', true)));
    expect((await joined).results.get('beta')).toMatchObject({ enabled: true, source: 'remote' });
    expect(calls).toHaveLength(1);
  });

  it('makes one call for two identical evaluations in flight', async () => {
    const answer = deferred<ParsedFlags>();
    const { stage: upstream, calls } = stage(() => defer(() => answer.promise));
    const first = upstream.evaluate(question(['beta']));
    const second = upstream.evaluate(question(['beta']));
    answer.resolve(parsedOf(flag('beta', true)));
    const [one, two] = await Promise.all([first, second]);
    expect(calls).toHaveLength(1);
    expect(one.results.get('beta')).toEqual(two.results.get('beta'));
  });

  it('answers a known user from the cache once PostHog has not answered within fallbackAfterMs', async () => {
    jest.useFakeTimers();
    const answer = deferred<ParsedFlags>();
    const { stage: upstream, writes } = stage(() => defer(() => answer.promise), known('beta'), {
      fallbackAfterMs: FALLBACK_AFTER_MS,
    });
    let given: StageAnswer | undefined;
    void Promise.resolve(upstream.evaluate(question(['beta']))).then((answered) => (given = answered));
    await jest.advanceTimersByTimeAsync(FALLBACK_AFTER_MS - 1);
    expect(given).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(given?.results.get('beta')).toMatchObject({ enabled: false, source: 'fallback' });
    answer.resolve(parsedOf(flag('beta', true)));
    await jest.advanceTimersByTimeAsync(0);
    expect(writes).toEqual([{ distinctId: 'u1', flags: ['beta'], whole: false, context: '' }]);
  });

  it('waits for PostHog past fallbackAfterMs when the user is not known', async () => {
    jest.useFakeTimers();
    const answer = deferred<ParsedFlags>();
    const { stage: upstream } = stage(
      () => defer(() => answer.promise),
      { flags: [], complete: false },
      {
        fallbackAfterMs: FALLBACK_AFTER_MS,
      },
    );
    let given: StageAnswer | undefined;
    void Promise.resolve(upstream.evaluate(question(['beta']))).then((answered) => (given = answered));
    await jest.advanceTimersByTimeAsync(FALLBACK_AFTER_MS * 5);
    expect(given).toBeUndefined();
    answer.resolve(parsedOf(flag('beta', true)));
    await jest.advanceTimersByTimeAsync(0);
    expect(given?.results.get('beta')).toMatchObject({ enabled: true, source: 'remote' });
  });

  it('refreshes behind the answer with one call on the next turn, however often it is asked', async () => {
    const answer = deferred<ParsedFlags>();
    const { stage: upstream, calls, writes } = stage(() => defer(() => answer.promise));
    upstream.refreshBehind(question(['beta']));
    upstream.refreshBehind(question(['beta']));
    expect(calls).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toHaveLength(1);
    answer.resolve(parsedOf(flag('beta', true)));
    await answer.promise;
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toHaveLength(1);
  });

  it('starts no refresh once the application is shutting down', async () => {
    const { stage: upstream, calls } = stage(() => from([parsedOf(flag('beta', true))]));
    upstream.refreshBehind(question(['beta']));
    upstream.beforeApplicationShutdown();
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual([]);
  });
});
