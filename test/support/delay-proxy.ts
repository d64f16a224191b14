import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy on a free loopback port to `127.0.0.1:targetPort` that can hold every chunk for a while, both ways:
 * a slow link. {@link slowDown} applies to the connections opened for a while after it (connections already made
 * stay fast), as on a host too busy to answer quickly. Stop it with {@link stop}.
 */
export class DelayProxy {
  private delayMs = 0;
  /** Until when (`performance.now()`) new connections are slow. */
  private slowUntil = 0;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: Server,
    private readonly targetPort: number,
  ) {
    server.on('connection', (client) => this.relay(client));
  }

  /** Starts a proxy to the port. */
  static async start(targetPort: number): Promise<DelayProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new DelayProxy(server, targetPort);
  }

  /** The port the proxy listens on. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Holds each chunk of the connections opened within the next `forMs` for `delayMs`, each way. */
  slowDown(delayMs: number, forMs: number): void {
    this.delayMs = delayMs;
    this.slowUntil = performance.now() + forMs;
  }

  /** Closes every connection, drops what is held, and stops listening. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: Socket): void {
    const server = connect(this.targetPort, '127.0.0.1');
    const delay = performance.now() < this.slowUntil ? this.delayMs : 0;
    for (const [from, to] of [
      [client, server],
      [server, client],
    ] as const) {
      this.sockets.add(from);
      from.on('data', (chunk) => this.forward(to, chunk, delay));
      from.on('error', () => to.destroy());
      from.on('close', () => {
        this.sockets.delete(from);
        to.destroy();
      });
    }
  }

  private forward(to: Socket, chunk: Buffer, delay: number): void {
    if (delay === 0) {
      to.write(chunk);
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!to.destroyed) to.write(chunk);
    }, delay);
    this.timers.add(timer);
  }
}
