import type { RedisConnection } from './redis-connection.js';

/** One wait for one connection, shared by every caller. */
interface Wait {
  promise: Promise<void>;
  end: () => void;
}

/**
 * Bounded waits for Redis connections (a client, or the connection to one cluster node) to be ready for commands.
 * A connection has one wait at a time, shared by every caller: one timer and one listener each, however many
 * writes wait. A wait ends when the connection is ready, when it ends (no more reconnection), after `limitMs`,
 * or at once on {@link close}; no timer outlives it.
 */
export class ConnectionReadiness {
  private readonly waits = new Map<RedisConnection, Wait>();
  private closed = false;

  constructor(private readonly limitMs: number) {}

  /**
   * Whether the connection is ready for commands, waiting for it at most `limitMs` while it is being
   * (re)established. A connection never used yet (a cluster node's, made on first use) is started.
   */
  async ready(connection: RedisConnection): Promise<boolean> {
    if (isReady(connection)) return true;
    if (this.closed || connection.status === 'end') return false;
    await (this.waits.get(connection) ?? this.waitFor(connection)).promise;
    return isReady(connection);
  }

  /** Ends every wait at once; none starts after. */
  close(): void {
    this.closed = true;
    for (const wait of [...this.waits.values()]) wait.end();
  }

  private waitFor(connection: RedisConnection): Wait {
    let settle!: () => void;
    const promise = new Promise<void>((settled) => (settle = settled));
    const end = () => {
      clearTimeout(timer);
      connection.off('ready', end);
      connection.off('end', end);
      this.waits.delete(connection);
      settle();
    };
    const timer = setTimeout(end, this.limitMs);
    timer.unref();
    connection.once('ready', end);
    connection.once('end', end);
    const wait = { promise, end };
    this.waits.set(connection, wait);
    if (connection.status === 'wait') connection.connect().catch(() => {});
    return wait;
  }
}

/** Whether the connection is ready for commands (a function: its status changes while a caller waits). */
function isReady(connection: RedisConnection): boolean {
  return connection.status === 'ready';
}
