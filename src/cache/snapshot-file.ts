import { randomUUID } from 'node:crypto';
import { open, rename, stat, unlink, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { decodeSharedValue, encodeSharedValue, type SharedDefinitions } from '../local/shared-definitions.js';
import type { FlagDefinitionsData } from '../local/definitions.js';
import { isRecord } from '../util/is-record.js';
import { jsonText } from '../util/json-text.js';
import { messageOf } from '../util/message-of.js';
import type { CachedFlag } from './flag-cache.js';
import { decodePythonEntry, encodePythonEntry } from './python-entry.js';

/** What the file says it is: anything else is not read. */
const FORMAT = 'nestjs-posthog-flags snapshot';
const VERSION = 1;

/** What a snapshot holds: the project's fingerprint, its definitions, and each user's last answers. */
export interface SnapshotContent {
  definitions?: SharedDefinitions;
  /** Each user's entries, most recently used first. */
  answers: [distinctId: string, flags: CachedFlag[]][];
}

/** A snapshot that cannot be used: the message says why (never its contents). */
export class SnapshotUnusableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotUnusableError';
  }
}

/**
 * Reads the snapshot at `path`: `undefined` when there is none.
 * @throws {SnapshotUnusableError} for one over `maxBytes`, not JSON (corrupt, truncated), of another format or
 * version, or of another project (`fingerprint`).
 */
export async function readSnapshot(
  path: string,
  maxBytes: number,
  fingerprint: string,
): Promise<SnapshotContent | undefined> {
  let text: string;
  try {
    const { size } = await stat(path);
    if (size > maxBytes) throw new SnapshotUnusableError(`it is ${size} bytes, over snapshotMaxBytes (${maxBytes})`);
    text = await readFile(path, 'utf8');
    if (text.length > maxBytes) throw new SnapshotUnusableError(`it grew over snapshotMaxBytes (${maxBytes})`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (error instanceof SnapshotUnusableError) throw error;
    throw new SnapshotUnusableError(`reading it failed: ${messageOf(error)}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new SnapshotUnusableError(`it is not JSON (corrupt or truncated: ${messageOf(error)})`);
  }
  if (!isRecord(body) || body.format !== FORMAT || body.version !== VERSION) {
    throw new SnapshotUnusableError(`it is no ${FORMAT} version ${VERSION}`);
  }
  if (body.project_fingerprint !== fingerprint) throw new SnapshotUnusableError("it is another project's");
  return { ...definitionsOf(body.definitions), answers: answersOf(body.answers) };
}

/** The snapshot's definitions, when it holds usable ones. */
function definitionsOf(value: unknown): Pick<SnapshotContent, 'definitions'> {
  if (!isRecord(value)) return {};
  try {
    return { definitions: decodeSharedValue(jsonText(value)) };
  } catch {
    return {};
  }
}

/** The snapshot's answers: each well-formed entry of each user (anything else left out). */
function answersOf(value: unknown): SnapshotContent['answers'] {
  if (!Array.isArray(value)) return [];
  const answers: SnapshotContent['answers'] = [];
  for (const user of value) {
    if (!Array.isArray(user) || typeof user[0] !== 'string' || !Array.isArray(user[1])) continue;
    const flags: CachedFlag[] = [];
    for (const entry of user[1] as unknown[]) {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'string') continue;
      const flag = decodePythonEntry(entry[1], entry[0]);
      if (flag) flags.push(flag);
    }
    if (flags.length > 0) answers.push([user[0], flags]);
  }
  return answers;
}

/**
 * The snapshot's text, at most `maxBytes` (UTF-8): the definitions (stamped; left out when they alone would not fit),
 * then users' answers, most recently used first, as long as they fit; the rest are left out.
 */
export function encodeSnapshot(
  fingerprint: string,
  definitions: { data: FlagDefinitionsData; polledAt: number; etag?: string } | undefined,
  users: Iterable<[string, Iterable<CachedFlag>]>,
  maxBytes: number,
): string {
  const head = `{"format":${JSON.stringify(FORMAT)},"version":${VERSION},"project_fingerprint":${JSON.stringify(fingerprint)}`;
  let defined = 'null';
  if (definitions) {
    const stamp = { fingerprint, polledAt: definitions.polledAt, etag: definitions.etag };
    const text = encodeSharedValue(definitions.data, stamp);
    if (Buffer.byteLength(text) + head.length + 64 <= maxBytes) defined = text;
  }
  const parts = [`${head},"definitions":${defined},"answers":[`];
  let bytes = Buffer.byteLength(parts[0]!) + 2;
  for (const [distinctId, flags] of users) {
    const entries = [...flags].map((flag) => JSON.stringify([flag.key, encodePythonEntry(flag, flag.context)]));
    const user = `${parts.length > 1 ? ',' : ''}[${JSON.stringify(distinctId)},[${entries.join(',')}]]`;
    const size = Buffer.byteLength(user);
    if (bytes + size > maxBytes) break;
    parts.push(user);
    bytes += size;
  }
  parts.push(']}');
  return parts.join('');
}

/**
 * Writes `text` to `path` atomically: a temporary file beside it, written and fsynced, renamed over it, then the
 * directory fsynced (where the platform allows); a crash leaves the old file or the new one, never half of one.
 * The file is readable by its owner only.
 */
export async function writeSnapshotAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${randomUUID()}.tmp`;
  try {
    const file = await open(temporary, 'w', 0o600);
    try {
      await file.writeFile(text, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
  await syncDirectory(dirname(path));
}

/** Fsyncs a directory (the rename in it), where the platform allows it. */
async function syncDirectory(directory: string): Promise<void> {
  try {
    const handle = await open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Not every platform can open or sync a directory; the file itself is synced.
  }
}
