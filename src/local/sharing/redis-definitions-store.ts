import { randomUUID } from 'node:crypto';
import type { RedisConnection } from '../../cache/redis-connection.js';
import { JsonTooLargeError } from '../../util/json-text.js';
import { messageOf } from '../../util/message-of.js';
import type { FlagDefinitionsData } from '../definitions.js';
import {
  SharedDefinitionsReadError,
  SharedDefinitionsWriteError,
  type DefinitionsStore,
  type DefinitionsStoreSettings,
  type KeepOutcome,
  type LockRole,
  type SharedRead,
} from './definitions-store.js';
import {
  decodeMeta,
  decodeSharedValue,
  encodeMeta,
  encodeSharedValue,
  META_MAX_BYTES,
  type SharedDefinitions,
  type SharedMeta,
} from '../shared-definitions.js';

/** How long the shared definitions are kept without a poller refreshing them (PostHog's provider: a day). */
const DEFINITIONS_TTL_SECONDS = 86_400;

/**
 * Takes the lock when free, renews it when this instance holds it: 1 when held after the call. A lock another
 * holder left without a TTL (it would never expire) is given the lock's TTL, its holder unchanged: 2 (taken over
 * within one TTL unless its holder renews it). A lock key of another Redis type (a hash, a list…), which nobody
 * could ever hold, is replaced by this instance's lock: 3. 0 otherwise.
 */
const ACQUIRE_OR_RENEW = `
local holder = redis.pcall('GET', KEYS[1])
if type(holder) == 'table' and holder.err then
  if not string.find(holder.err, 'WRONGTYPE', 1, true) then return redis.error_reply(holder.err) end
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 3
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
  return 0
end
if redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 2
end
return 0`;

/** What the answers of {@link ACQUIRE_OR_RENEW} mean; any other is `follower`. */
const LOCK_ROLES = new Map<unknown, LockRole>([
  [1, 'poller'],
  [2, 'follower, lock given a ttl'],
  [3, 'poller, lock replaced'],
]);

/** What a read of a key of another Redis type (a hash, a list…) gives: it is unusable, not unreachable. */
const WRONG_TYPE = Symbol('wrong Redis type');

/** Deletes the lock only if this instance holds it. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Where a shared-definitions store lives in Redis. */
export interface RedisDefinitionsLocation {
  prefix: string;
  service: string;
  /** The largest value read or written (bytes). */
  maxBytes: number;
}

/** A value read or written, and how to tell it again without reading it. */
interface KnownValue {
  shared: SharedDefinitions;
  bytes: number;
  /** A value without a stamp (another SDK wrote it) is told by its text. */
  text?: string;
}

/**
 * Definitions shared through Redis in the format of PostHog's published Redis provider (posthog-python's
 * `examples/redis_flag_cache.py`): key `{prefix}{service}` holding `{ flags, group_type_mapping, cohorts }` as JSON
 * (a day's expiry) plus this library's stamp (`project_fingerprint`, `polled_at`, `etag`), lock
 * `{prefix}{service}:lock` holding the poller's `{"holder": "<UUID>"}` (3 poll intervals, 5–60 s), and the sidecar
 * `{prefix}{service}:meta` the poller rewrites at every poll (see {@link SharedMeta}). The three keys may live on
 * different cluster nodes: no command spans two of them.
 */
export class RedisDefinitionsStore implements DefinitionsStore {
  readonly source = 'redis';
  readonly description: string;
  private readonly key: string;
  private readonly metaKey: string;
  private readonly lockKey: string;
  /**
   * This instance, in the lock: `{"holder": "<UUID>"}`, a JSON object without `flag_version`, which posthog-python's
   * `invalidate_version` scan of the prefix leaves (a bare UUID is not JSON: it would delete it). Built once: the
   * scripts compare the whole value.
   */
  private readonly id = JSON.stringify({ holder: randomUUID() });
  /** The last value read or written: unchanged, it is not read again, and gives the very same object. */
  private known?: KnownValue;
  /** Whether this instance took or renewed the lock at its last round that reached Redis. */
  private held = false;

  constructor(
    private readonly client: RedisConnection,
    private readonly location: RedisDefinitionsLocation,
    private readonly settings: DefinitionsStoreSettings,
  ) {
    this.key = `${location.prefix}${location.service}`;
    this.metaKey = `${this.key}:meta`;
    this.lockKey = `${this.key}:lock`;
    this.description = `key "${this.key}" (prefix "${location.prefix}", service "${location.service}")`;
  }

  async shouldPoll(): Promise<LockRole> {
    const answer = await this.client.eval(ACQUIRE_OR_RENEW, 1, this.lockKey, this.id, this.settings.lockTtlMs);
    const role = LOCK_ROLES.get(answer) ?? 'follower';
    this.held = role === 'poller' || role === 'poller, lock replaced';
    return role;
  }

  async load(): Promise<SharedRead> {
    const [metaText, bytes, lockTtl] = await Promise.all([
      this.readMeta(),
      this.lengthOfValue(),
      this.client.pttl(this.lockKey),
    ]);
    const lockHeld = lockTtl > 0;
    if (bytes === WRONG_TYPE) return { kind: 'unusable', problem: this.wrongType(this.key), lockHeld };
    if (bytes === 0) return { kind: 'missing', lockHeld };
    const meta = decodeMeta(metaText);
    if (meta && meta.bytes === bytes && meta.fingerprint !== this.settings.fingerprint)
      return { kind: 'foreign', lockHeld };
    if (meta && this.describes(meta, bytes)) {
      return { kind: 'definitions', shared: this.known!.shared, polledAt: meta.polledAt, lockHeld };
    }
    if (bytes > this.location.maxBytes) return { kind: 'unusable', problem: this.overBound(bytes), lockHeld };
    const text = await this.readValue();
    if (text === WRONG_TYPE) return { kind: 'unusable', problem: this.wrongType(this.key), lockHeld };
    if (text === '') return { kind: 'missing', lockHeld };
    const read = this.remember(text);
    if (typeof read === 'string') return { kind: 'unusable', problem: read, lockHeld };
    const { stamp } = read.shared;
    if (stamp && stamp.fingerprint !== this.settings.fingerprint) {
      this.known = undefined;
      return { kind: 'foreign', lockHeld };
    }
    const polledAt = meta && this.describes(meta, bytes) ? meta.polledAt : stamp?.polledAt;
    return { kind: 'definitions', shared: read.shared, ...(polledAt === undefined ? {} : { polledAt }), lockHeld };
  }

  async keep(data: FlagDefinitionsData, stamp: { polledAt: number; etag?: string }): Promise<KeepOutcome> {
    const [metaText, bytes] = await Promise.all([this.readMeta(), this.lengthOfValue()]);
    const meta = decodeMeta(metaText);
    const ours = this.known?.shared.data === data;
    if (ours && meta && meta.fingerprint === this.settings.fingerprint && this.describes(meta, bytes)) {
      const publishedAt = this.known!.shared.stamp!.polledAt;
      await this.run('refreshing', () =>
        Promise.all([
          this.client.expire(this.key, DEFINITIONS_TTL_SECONDS),
          this.writeMeta({ ...stamp, fingerprint: this.settings.fingerprint, publishedAt, bytes }),
        ]),
      );
      return { kind: 'kept' };
    }
    const foreign = meta !== undefined && meta.fingerprint !== this.settings.fingerprint;
    await this.publish(data, stamp);
    if (foreign) return { kind: 'published', repaired: 'foreign' };
    if (!ours) return { kind: 'published' };
    return { kind: 'published', repaired: bytes === 0 ? 'missing' : 'unusable' };
  }

  /** The sidecar, at most {@link META_MAX_BYTES} + 1 bytes of it (more is garbage); `null` when not a string. */
  private async readMeta(): Promise<string | null> {
    const text = await this.read(this.metaKey, () => this.client.getrange(this.metaKey, 0, META_MAX_BYTES));
    return text === WRONG_TYPE ? null : text;
  }

  /** The value's length in bytes (0: absent). */
  private lengthOfValue(): Promise<number | typeof WRONG_TYPE> {
    return this.read(this.key, () => this.client.strlen(this.key));
  }

  /** The value, at most one byte over the bound (then refused by its length); `''` when absent. */
  private readValue(): Promise<string | typeof WRONG_TYPE> {
    return this.read(this.key, () => this.client.getrange(this.key, 0, this.location.maxBytes));
  }

  /** Runs one read of `key`: a key of another Redis type gives {@link WRONG_TYPE}; another failure names the key. */
  private async read<T>(key: string, command: () => Promise<T>): Promise<T | typeof WRONG_TYPE> {
    try {
      return await command();
    } catch (error) {
      if (messageOf(error).startsWith('WRONGTYPE')) return WRONG_TYPE;
      throw new SharedDefinitionsReadError(`reading key "${key}" failed: ${messageOf(error)}`, { cause: error });
    }
  }

  private wrongType(key: string): string {
    return `key "${key}" holds another Redis type than a string`;
  }

  async release(): Promise<void> {
    if (!this.held) return;
    await this.client.eval(RELEASE, 1, this.lockKey, this.id).catch(() => {});
  }

  /** Writes the value, then the sidecar that describes it. */
  private async publish(data: FlagDefinitionsData, { polledAt, etag }: { polledAt: number; etag?: string }) {
    const stamp = { fingerprint: this.settings.fingerprint, polledAt, ...(etag ? { etag } : {}) };
    let text: string;
    try {
      text = encodeSharedValue(data, stamp, this.location.maxBytes);
    } catch (error) {
      if (error instanceof JsonTooLargeError) throw new SharedDefinitionsWriteError(this.overBound(error.maxBytes + 1));
      throw new SharedDefinitionsWriteError(`serialising the definitions failed: ${messageOf(error)}`, {
        cause: error,
      });
    }
    const bytes = Buffer.byteLength(text);
    if (bytes > this.location.maxBytes) throw new SharedDefinitionsWriteError(this.overBound(bytes));
    await this.run('writing', () => this.client.set(this.key, text, 'EX', DEFINITIONS_TTL_SECONDS));
    this.known = { shared: { data, stamp }, bytes };
    await this.run('writing', () => this.writeMeta({ ...stamp, publishedAt: polledAt, bytes }), this.metaKey);
  }

  /** Writes the sidecar (`SET` replaces a key of any type). */
  private writeMeta(meta: SharedMeta): Promise<unknown> {
    return this.client.set(this.metaKey, encodeMeta(meta), 'EX', DEFINITIONS_TTL_SECONDS);
  }

  /** Whether the sidecar says the key holds the value last read or written. */
  private describes(meta: SharedMeta, bytes: number | typeof WRONG_TYPE): bytes is number {
    const stamp = this.known?.shared.stamp;
    return (
      stamp !== undefined && meta.bytes === bytes && this.known!.bytes === bytes && meta.publishedAt === stamp.polledAt
    );
  }

  /** Parses a value (or recognises the last one) and remembers it; the problem when it is unusable. */
  private remember(text: string): KnownValue | string {
    const bytes = Buffer.byteLength(text);
    if (bytes > this.location.maxBytes) return this.overBound(bytes);
    if (this.known?.text === text) return this.known;
    let shared: SharedDefinitions;
    try {
      shared = decodeSharedValue(text);
    } catch (error) {
      return messageOf(error);
    }
    const last = this.known?.shared.stamp;
    if (last && shared.stamp && this.known!.bytes === bytes && sameStamp(last, shared.stamp)) return this.known!;
    this.known = { shared, bytes, ...(shared.stamp ? {} : { text }) };
    return this.known;
  }

  private overBound(bytes: number): string {
    return `${bytes} bytes, over the ${this.location.maxBytes}-byte bound (the cache URL's maxDefinitionsBytes)`;
  }

  /** Runs Redis commands; a failure says what was being done (to `key`: the sidecar; the value's otherwise). */
  private async run<T>(doing: string, commands: () => Promise<T>, key?: string): Promise<T> {
    try {
      return await commands();
    } catch (error) {
      const what = key === undefined ? this.description : `key "${key}"`;
      throw new SharedDefinitionsWriteError(`${doing} ${what} failed: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }
}

function sameStamp(a: SharedDefinitions['stamp'] & object, b: SharedDefinitions['stamp'] & object): boolean {
  return a.fingerprint === b.fingerprint && a.polledAt === b.polledAt && a.etag === b.etag;
}
