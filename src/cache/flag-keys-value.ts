import { isRecord } from '../util/is-record.js';
import { messageOf } from '../util/message-of.js';
import type { RedisConnection } from './redis-connection.js';
import type { FlagKeysUpdate } from './written-flag-keys.js';

/** The most flag keys the flag-keys value holds; more are left out (a project has far fewer flags). */
export const MAX_FLAG_KEYS = 10_000;

/** The longest flag-keys value (bytes, 1 MiB); a longer one is read as absent, and a write keeps within it. */
export const MAX_FLAG_KEYS_BYTES = 1_048_576;

/**
 * Writes the flag-keys value `{"flag_keys": [...]}` (a JSON object without `flag_version`: posthog-python's
 * `invalidate_version` scan reads it and leaves it) and gives it the TTL, in one step. KEYS[1]: its key. ARGV[1]: the
 * TTL (s); ARGV[2]: `1` replaces what it holds, `0` adds to it; ARGV[3], ARGV[4]: the most keys and bytes; ARGV[5…]:
 * the flag keys, kept first. A key of another Redis type (the set an older version kept) is deleted first; a stored
 * value that is not JSON, not this shape or over the bound counts as empty. Answers how many keys it holds.
 */
const WRITE_FLAG_KEYS = `
local maxKeys, maxBytes = tonumber(ARGV[3]), tonumber(ARGV[4])
local keys, seen, bytes = {}, {}, 16
local function add(key)
  if type(key) ~= 'string' or seen[key] or #keys >= maxKeys then return end
  local _, escapes = string.gsub(key, '[%c"\\\\/]', '')
  local size = #key + 5 * escapes + 3
  if bytes + size > maxBytes then return end
  seen[key] = true
  bytes = bytes + size
  keys[#keys + 1] = key
end
for i = 5, #ARGV do add(ARGV[i]) end
if #keys == 0 then return 0 end
local kind = redis.call('TYPE', KEYS[1]).ok
if kind ~= 'string' and kind ~= 'none' then
  redis.call('DEL', KEYS[1])
elseif kind == 'string' and ARGV[2] == '0' and redis.call('STRLEN', KEYS[1]) <= maxBytes then
  local ok, stored = pcall(cjson.decode, redis.call('GET', KEYS[1]))
  if ok and type(stored) == 'table' and type(stored.flag_keys) == 'table' then
    for _, key in ipairs(stored.flag_keys) do add(key) end
  end
end
redis.call('SET', KEYS[1], cjson.encode({ flag_keys = keys }), 'EX', ARGV[1])
return #keys`;

/**
 * The flag keys of a flag-keys value, each once, at most {@link MAX_FLAG_KEYS}; none when it is absent, over
 * {@link MAX_FLAG_KEYS_BYTES}, not JSON or not `{"flag_keys": [...]}` (its non-string members are left out).
 */
export function decodeFlagKeys(text: string | null): string[] {
  if (!text || Buffer.byteLength(text) > MAX_FLAG_KEYS_BYTES) return [];
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [];
  }
  if (!isRecord(body) || !Object.hasOwn(body, 'flag_keys') || !Array.isArray(body.flag_keys)) return [];
  const keys = new Set<string>();
  for (const key of body.flag_keys as unknown[]) {
    if (keys.size >= MAX_FLAG_KEYS) break;
    if (typeof key === 'string') keys.add(key);
  }
  return [...keys];
}

/** Adds the update of the flag-keys value at `key` to the pipeline: one {@link WRITE_FLAG_KEYS} script. */
export function writeFlagKeys(
  batch: ReturnType<RedisConnection['pipeline']>,
  key: string,
  update: NonNullable<FlagKeysUpdate>,
  ttlSeconds: number,
): void {
  const keys = update.keys.slice(0, MAX_FLAG_KEYS);
  batch.eval(WRITE_FLAG_KEYS, 1, key, ttlSeconds, update.replace ? 1 : 0, MAX_FLAG_KEYS, MAX_FLAG_KEYS_BYTES, ...keys);
}

/**
 * The flag-keys value at `key`, at most one byte over {@link MAX_FLAG_KEYS_BYTES} of it (`GETRANGE`); `''` when
 * absent, `null` when of another Redis type (the set an older version kept). Rejects on another failure.
 */
export async function readFlagKeys(client: RedisConnection, key: string): Promise<string | null> {
  try {
    return await client.getrange(key, 0, MAX_FLAG_KEYS_BYTES);
  } catch (error) {
    if (messageOf(error).startsWith('WRONGTYPE')) return null;
    throw error;
  }
}
