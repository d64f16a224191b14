import { Injectable, Logger } from '@nestjs/common';
import { LIBRARY_NAME } from '../flags.constants.js';
import { LogEpisode } from '../util/log-episode.js';
import type { PropertyDrops } from './sendable-properties.js';

/** How many properties, at most, one episode names in a line of their own (the rest are counted). */
const MAX_NAMED_PER_EPISODE = 100;

/**
 * Says which context properties were left out because they cannot be written as JSON: one warning per property
 * name per episode (naming the property, never its value: it may be a secret), a summary a minute at most while
 * it lasts, a line once contexts have been whole for a while ({@link LogEpisode}).
 */
@Injectable()
export class UnsendableProperties implements PropertyDrops {
  private readonly logger = new Logger(LIBRARY_NAME);
  private readonly episode = new LogEpisode(this.logger, {
    started: (line) => line,
    lasting: (drops, line) => `context properties still left out: ${drops} more since the last line (last: ${line})`,
    ended: () => 'context properties are all sent again',
  });
  private named = 0;

  /** {@inheritDoc PropertyDrops.dropped} */
  dropped(path: string, error: unknown): void {
    const line =
      `context.${path} left out: it cannot be written as JSON (${errorName(error)} in its toJSON or a getter); ` +
      'the flags are evaluated without it';
    if (!this.episode.active) {
      this.named = 1;
      this.episode.once(path, () => {});
    } else if (this.named < MAX_NAMED_PER_EPISODE) {
      this.episode.once(path, () => {
        this.named++;
        this.logger.warn(line);
      });
    }
    this.episode.failed(line);
  }

  /** {@inheritDoc PropertyDrops.allKept} */
  allKept(): void {
    this.episode.succeeded();
  }
}

/** The error's class name (never its message: it may quote the value). */
function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'a thrown value';
}
