import { MAX_NESTING_DEPTH } from '../util/nesting-depth.js';
import { setOwn } from '../util/own.js';
import { jsonShapeOf, plainEntriesOrNone } from '../util/plain-json.js';

/** Told of each property left out of a context because it cannot be written as JSON. */
export interface PropertyDrops {
  /** The property at `path` (`personProperties["balance"]`) was left out: writing it as JSON threw `error`. */
  dropped(path: string, error: unknown): void;
  /** A context's properties were all kept. */
  allKept(): void;
}

/**
 * `properties` as they can be sent to PostHog as JSON, plain data read once (no getter, `toJSON` or proxy is run
 * again later), the same object when it is plain data already: a BigInt, at any depth, becomes its decimal text
 * (as `@posthog/core`'s `toJsonSafeValue` writes it; a Prisma `BIGINT` column is one); anything else JSON writes
 * through code of its own (a `toJSON`, a getter, a `Date` subclass) is written as JSON once. A property that
 * cannot be read or written (its getter or `toJSON` throws) is left out and told to `drops` as `{name}["{key}"]`,
 * never with its value; so is the whole object, as `{name}`, when its keys cannot be listed (a proxy).
 * @throws {TypeError} naming the first property whose value nests more than {@link MAX_NESTING_DEPTH} deep.
 */
export function sendableProperties(
  name: string,
  properties: Record<string, unknown> | undefined,
  drops: PropertyDrops,
): Record<string, unknown> | undefined {
  if (properties === undefined) return undefined;
  const entries = readEntries(name, properties, drops);
  if (entries === undefined) return undefined;
  const { read } = entries;
  // A copy only once a value must be written once (or the object was not plain): most contexts are plain data.
  let sendable: Record<string, unknown> | undefined = entries.plain ? undefined : {};
  for (let index = 0; index < read.length; index++) {
    const [key, value] = read[index]!;
    const shape = jsonShapeOf(value, MAX_NESTING_DEPTH);
    if (shape === 'too-deep') throw tooDeep(`${name}["${key}"]`);
    if (shape === 'plain') {
      if (sendable) setOwn(sendable, key, value);
      continue;
    }
    sendable ??= copyOf(read, index);
    const path = `${name}["${key}"]`;
    try {
      setOwn(sendable, key, writtenOnce(path, value));
    } catch (error) {
      if (error instanceof TooDeepError) throw error;
      drops.dropped(path, error);
    }
  }
  return sendable ?? properties;
}

/** The first `count` entries, as an object of their own. */
function copyOf(entries: ReadonlyArray<[string, unknown]>, count: number): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (let index = 0; index < count; index++) setOwn(copy, entries[index]![0], entries[index]![1]);
  return copy;
}

/**
 * The object's own enumerable entries, each read once (a property whose getter throws is told to `drops` and left
 * out), and whether the object is plain data; `undefined` (told as `name`) when its keys cannot be listed.
 */
export function readEntries(
  name: string,
  properties: Record<string, unknown>,
  drops: PropertyDrops,
): { read: Array<[string, unknown]>; plain: boolean } | undefined {
  const plain = plainEntriesOrNone(properties);
  if (plain) return { read: plain, plain: true };
  let keys: string[];
  try {
    keys = Object.keys(properties);
  } catch (error) {
    drops.dropped(name, error);
    return undefined;
  }
  const read: Array<[string, unknown]> = [];
  for (const key of keys) {
    try {
      read.push([key, properties[key]]);
    } catch (error) {
      drops.dropped(`${name}["${key}"]`, error);
    }
  }
  return { read, plain: false };
}

/** A property nesting too deep: the context is invalid. */
class TooDeepError extends TypeError {}

function tooDeep(path: string): TypeError {
  return new TooDeepError(`FlagsService: context.${path} nests more than ${MAX_NESTING_DEPTH} levels deep`);
}

/**
 * The value written as JSON once and read back (a BigInt as its decimal text), `undefined` when JSON writes
 * nothing for it (a function).
 * @throws what writing it as JSON throws (a `toJSON` or a getter); {@link tooDeep} when what it writes nests too
 * deep.
 */
function writtenOnce(path: string, value: unknown): unknown {
  const text = JSON.stringify(value, bigIntAsText);
  if (text === undefined) return undefined;
  const parsed = JSON.parse(text) as unknown;
  if (jsonShapeOf(parsed, MAX_NESTING_DEPTH) === 'too-deep') throw tooDeep(path);
  return parsed;
}

function bigIntAsText(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
