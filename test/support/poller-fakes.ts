import { jest } from '@jest/globals';
import { Observable } from 'rxjs';
import { parseDefinitions, type FlagDefinitionsData } from '../../src/local/definitions.js';
import { DefinitionsClient, type DefinitionsAnswer } from '../../src/local/polling/definitions-client.js';
import { DefinitionsPoller } from '../../src/local/polling/definitions-poller.js';
import type { DefinitionsReload } from '../../src/local/polling/definitions-reload.js';
import type { DefinitionsStore, LockRole, SharedRead } from '../../src/local/sharing/definitions-store.js';
import { LeanExposures } from '../../src/exposures/lean-exposures.js';
import { FlagsMonitor } from '../../src/monitor/flags-monitor.js';
import type { FlagsModuleOptions } from '../../src/options/flags-options.js';
import { resolveFlagsOptions } from '../../src/options/resolve-flags-options.js';

/** The poll interval of the poller specs. */
export const INTERVAL_MS = 10_000;

/** Definitions of `count` flags, each on for everyone. */
export function definitionsOf(count: number): FlagDefinitionsData {
  const flags = Array.from({ length: count }, (_, index) => ({
    key: `flag-${index}`,
    active: true,
    filters: { groups: [{ rollout_percentage: 100 }] },
  }));
  return parseDefinitions({ flags });
}

/**
 * PostHog's `/flags/definitions`, faked on {@link DefinitionsClient}'s prototype: each poll records the ETag it
 * sent and waits for {@link reply} (or takes the one given before it was asked); `aborted` counts the polls
 * unsubscribed before their answer, `closed` the calls to `close()`. The last one made answers every client: one
 * poller a test, and `jest.restoreAllMocks()` after it.
 */
export function fakeUpstream() {
  const etags: (string | undefined)[] = [];
  const given: (DefinitionsAnswer | Error)[] = [];
  const waiting: ((answer: DefinitionsAnswer | Error) => void)[] = [];
  const upstream = {
    etags,
    aborted: 0,
    closed: 0,
    /** Answers the poll waiting for one, else the next one asked. */
    reply(answer: DefinitionsAnswer | Error): void {
      const waiter = waiting.shift();
      if (waiter) waiter(answer);
      else given.push(answer);
    },
  };
  jest.spyOn(DefinitionsClient.prototype, 'fetchDefinitions').mockImplementation(
    (etag) =>
      new Observable<DefinitionsAnswer>((subscriber) => {
        etags.push(etag);
        let answered = false;
        const answer = (reply: DefinitionsAnswer | Error): void => {
          answered = true;
          if (reply instanceof Error) return subscriber.error(reply);
          subscriber.next(reply);
          subscriber.complete();
        };
        const early = given.shift();
        if (early) answer(early);
        else waiting.push(answer);
        return () => {
          if (answered) return;
          upstream.aborted++;
          waiting.splice(waiting.indexOf(answer), 1);
        };
      }),
  );
  jest.spyOn(DefinitionsClient.prototype, 'close').mockImplementation(() => {
    upstream.closed++;
    return Promise.resolve();
  });
  return upstream;
}

/**
 * A shared definitions store as a plain object: `role` is what {@link DefinitionsStore.shouldPoll} answers, `read`
 * what {@link DefinitionsStore.load} serves (an `Error`: it rejects, unreachable); every call is recorded in
 * `calls`, every keep in `kept`.
 */
export function fakeStore(source: DefinitionsStore['source'], role: LockRole | Error, read: SharedRead | Error) {
  const store = {
    source,
    description: 'the fake store',
    role,
    read,
    calls: [] as string[],
    kept: [] as { data: FlagDefinitionsData; stamp: { polledAt: number; etag?: string } }[],
    shouldPoll(): Promise<LockRole> {
      store.calls.push('shouldPoll');
      return store.role instanceof Error ? Promise.reject(store.role) : Promise.resolve(store.role);
    },
    load(): Promise<SharedRead> {
      store.calls.push('load');
      return store.read instanceof Error ? Promise.reject(store.read) : Promise.resolve(store.read);
    },
    keep(data: FlagDefinitionsData, stamp: { polledAt: number; etag?: string }) {
      store.calls.push('keep');
      store.kept.push({ data, stamp });
      return Promise.resolve({ kind: 'kept' as const });
    },
    release(): Promise<void> {
      store.calls.push('release');
      return Promise.resolve();
    },
  };
  return store;
}

/** The store of `memory://`: this instance always polls, publishes nothing anyone reads. */
export const inProcessStore = () => fakeStore(undefined, 'poller', { kind: 'missing', lockHeld: false });

/**
 * A poller over `store` with PostHog faked, polling every {@link INTERVAL_MS}; `options` are the module's (a
 * secret key and a poll interval by default). Build it after faking the timers: its clock reads them.
 */
export function fakePoller(store: DefinitionsStore = inProcessStore(), options: FlagsModuleOptions = {}) {
  const upstream = fakeUpstream();
  const config = resolveFlagsOptions(
    { apiKey: 'phc_test', secretKey: 'phs_test', localEvaluation: { pollIntervalMs: INTERVAL_MS }, ...options },
    {},
  );
  const monitor = new FlagsMonitor(config);
  const poller = new DefinitionsPoller(config, store, monitor, new LeanExposures());
  return {
    poller,
    upstream,
    /** Starts the application and answers its first poll with `answer`: what the startup round did (`joined`). */
    async start(answer: DefinitionsAnswer | Error): Promise<DefinitionsReload> {
      await poller.onApplicationBootstrap();
      const round = poller.reload();
      upstream.reply(answer);
      return round;
    },
    /**
     * Lets `afterMs` pass, the timer starting the next round, and answers its poll with `answer` (none: it asks
     * none): what the round did (`joined`). The last round must be over (awaited).
     */
    next(answer?: DefinitionsAnswer | Error, afterMs = INTERVAL_MS): Promise<DefinitionsReload> {
      jest.advanceTimersByTime(afterMs);
      const round = poller.reload();
      if (answer) upstream.reply(answer);
      return round;
    },
  };
}

/** PostHog's `200` with `definitions`, tagged `etag`. */
export const ok = (definitions: FlagDefinitionsData, etag?: string): DefinitionsAnswer => ({
  status: 200,
  definitions,
  ...(etag ? { etag } : {}),
});
