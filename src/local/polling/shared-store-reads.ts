import { messageOf } from '../../util/message-of.js';
import type { DefinitionsLog } from './definitions-log.js';
import type { RoundReport } from './definitions-reload.js';
import type { DefinitionsStore, SharedRead } from '../sharing/definitions-store.js';

/** Who polls PostHog this round: `poller` (this instance holds the lock), `follower`, or `alone` (the store is unreachable). */
export type PollRole = 'poller' | 'follower' | 'alone';

/**
 * Takes part in the round of the shared store's poller lock; says when the store is unreachable (and when it is
 * back), and when the lock was repaired.
 */
export async function takePollRole(store: DefinitionsStore, log: DefinitionsLog, lockTtlMs: number): Promise<PollRole> {
  try {
    const role = await store.shouldPoll();
    log.unreachable.succeeded();
    if (role === 'follower, lock given a ttl') log.lockWithoutTtl(lockTtlMs);
    if (role === 'poller, lock replaced') log.lockOfAnotherType();
    return role === 'follower' || role === 'follower, lock given a ttl' ? 'follower' : 'poller';
  } catch (error) {
    log.unreachable.failed(messageOf(error));
    return 'alone';
  }
}

/**
 * Reads the shared store into the round's report; says when it is unreachable (and when it is back) and when what
 * it holds is unusable (another project's included: `canPoll` says what this instance does meanwhile).
 * `undefined` when it is unreachable.
 */
export async function readSharedStore(
  store: DefinitionsStore,
  log: DefinitionsLog,
  report: RoundReport,
  canPoll: boolean,
): Promise<SharedRead | undefined> {
  let read: SharedRead;
  try {
    read = await store.load();
    log.unreachable.succeeded();
  } catch (error) {
    log.unreachable.failed(messageOf(error));
    report.failed('store', `the shared store is unreachable (${messageOf(error)})`);
    return undefined;
  }
  report.storeRead(read);
  if (read.kind === 'foreign') {
    const meanwhile = canPoll ? 'polling PostHog directly' : 'a cache-only reader cannot poll PostHog';
    log.unusable.failed(`they belong to another project (give each project its own prefix or service); ${meanwhile}`);
  }
  if (read.kind === 'unusable') log.unusable.failed(`${read.problem}; keeping the definitions loaded`);
  if (read.kind === 'definitions') log.unusable.succeeded();
  return read;
}
