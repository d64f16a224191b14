import type { Socket } from 'node:net';

/**
 * Every socket one Redis connection opens (to the server, a cluster node, a sentinel, the slot refreshes'
 * short-lived connections), so that closing the connection can wait until the last of them is closed: then no
 * socket and none of ioredis's timers that wait for a socket (the disconnect timeout) is left behind.
 */
export class RedisSockets {
  private readonly open = new Set<Socket>();
  private closing = false;
  /** Called when the last open socket has closed (while {@link allClosed} waits). */
  private drained?: () => void;

  /** Tracks the socket until it closes; one still connecting is destroyed at once when the connection is closing. */
  add(socket: Socket): void {
    this.open.add(socket);
    socket.once('close', () => {
      this.open.delete(socket);
      if (this.open.size === 0) this.drained?.();
    });
    if (this.closing && socket.connecting) socket.destroy();
  }

  /**
   * Resolves once every socket is closed. Sockets still connecting have nothing to finish and are destroyed at
   * once; the others (ended by their clients) are given `graceMs` to close, then destroyed.
   */
  async allClosed(graceMs: number): Promise<void> {
    this.closing = true;
    for (const socket of this.open) if (socket.connecting) socket.destroy();
    if (this.open.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((closed) => {
      this.drained = closed;
      timer = setTimeout(() => this.open.forEach((socket) => socket.destroy()), graceMs);
    });
    clearTimeout(timer);
    this.drained = undefined;
  }
}
