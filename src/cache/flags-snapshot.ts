import { Logger } from '@nestjs/common';
import { LIBRARY_NAME } from '../flags.constants.js';
import type { FlagDefinitionsData } from '../local/definitions.js';
import { LogEpisode } from '../util/log-episode.js';
import { messageOf } from '../util/message-of.js';
import type { CachedFlag } from './flag-cache.js';
import {
  encodeSnapshot,
  readSnapshot,
  SnapshotUnusableError,
  writeSnapshotAtomically,
  type SnapshotContent,
} from './snapshot-file.js';

/** How long after a change the snapshot is written: at most one write a second. */
const WRITE_DELAY_MS = 1000;

/** Where the snapshot lives and how large it may be. */
export interface SnapshotSettings {
  path: string;
  maxBytes: number;
}

/**
 * The `memory://…?snapshot=<path>` file: read once at startup (anything unusable is one warning and an empty
 * start), then written atomically at most once a second after the definitions or the answers change, and on close.
 * Its timer is unref'd and cleared on close; a failed write is one warning per episode, and the next change tries
 * again.
 */
export class FlagsSnapshot {
  private readonly logger = new Logger(LIBRARY_NAME);
  private readonly failures: LogEpisode;
  private definitions?: { data: FlagDefinitionsData; polledAt: number; etag?: string };
  private timer?: NodeJS.Timeout;
  private writing?: Promise<void>;
  private dirty = false;
  private closed = false;

  /**
   * @param users each user's entries, most recently used first, when a write happens.
   */
  constructor(
    private readonly settings: SnapshotSettings,
    private readonly fingerprint: string,
    private readonly users: () => Iterable<[string, Iterable<CachedFlag>]>,
  ) {
    this.failures = new LogEpisode(this.logger, {
      started: (why) => `writing the flags snapshot ${settings.path} failed (${why}); answering from memory`,
      lasting: (count, why) => `writing the flags snapshot still failing: ${count} more (last: ${why})`,
      ended: () => `the flags snapshot ${settings.path} is written again`,
    });
  }

  /** What the file holds for this project; empty (with one warning) when it is unusable, empty when absent. */
  async restore(): Promise<SnapshotContent> {
    try {
      return (await readSnapshot(this.settings.path, this.settings.maxBytes, this.fingerprint)) ?? { answers: [] };
    } catch (error) {
      const why = error instanceof SnapshotUnusableError ? error.message : messageOf(error);
      this.logger.warn(`flags snapshot ${this.settings.path} not used: ${why}; starting empty`);
      return { answers: [] };
    }
  }

  /** The definitions in force changed (or were polled again): written with the next write. */
  setDefinitions(data: FlagDefinitionsData, stamp: { polledAt: number; etag?: string }): void {
    const known = this.definitions;
    if (known?.data === data && known.polledAt === stamp.polledAt && known.etag === stamp.etag) return;
    this.definitions = { data, ...stamp };
    this.changed();
  }

  /** Something changed: a write within {@link WRITE_DELAY_MS}. */
  changed(): void {
    if (this.closed) return;
    this.dirty = true;
    if (this.timer || this.writing) return;
    this.timer = setTimeout(() => void this.flush(), WRITE_DELAY_MS).unref();
  }

  /** The last write, then no more: the timer is cleared. Never rejects. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    clearTimeout(this.timer);
  }

  /** Writes what changed, after the write under way. Never rejects. */
  private async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
    if (!this.dirty) return;
    this.dirty = false;
    this.writing = this.write().finally(() => {
      this.writing = undefined;
      if (this.dirty) this.changed();
    });
    await this.writing;
  }

  private async write(): Promise<void> {
    try {
      const text = encodeSnapshot(this.fingerprint, this.definitions, this.users(), this.settings.maxBytes);
      await writeSnapshotAtomically(this.settings.path, text);
      this.failures.succeeded();
    } catch (error) {
      this.failures.failed(messageOf(error));
    }
  }
}
