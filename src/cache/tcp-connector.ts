import { createConnection, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { AbstractConnector, type RedisOptions, type StandaloneConnectionOptions } from 'ioredis';
import type { RedisSockets } from './redis-sockets.js';

/** ioredis's message for a connection closed on purpose (its clients stay quiet about it while closing). */
export const CONNECTION_CLOSED_MESSAGE = 'Connection is closed.';

/** ioredis's defaults. */
const DEFAULT_PORT = 6379;
const DEFAULT_DISCONNECT_TIMEOUT_MS = 2000;

/** What ioredis calls to open one client's connections (its `Connector` option), given the client's options. */
export type ConnectorClass = NonNullable<RedisOptions['Connector']>;

/**
 * A connector for one server (TCP or TLS), as ioredis's own, with every socket tracked in `sockets` and a
 * disconnect that leaves nothing behind. ioredis's own, asked to disconnect a client whose socket is already
 * closed (reconnecting, or ended after a failed attempt, as its sentinel and slot-refresh clients are), starts a
 * timer that only that socket's `close` would clear: it then holds the process for the disconnect timeout.
 */
export function tcpConnector(sockets: RedisSockets): ConnectorClass {
  return class TcpConnector extends AbstractConnector {
    private readonly options: StandaloneConnectionOptions;

    constructor(options: unknown) {
      const given = options as StandaloneConnectionOptions;
      super(given.disconnectTimeout ?? DEFAULT_DISCONNECT_TIMEOUT_MS);
      this.options = given;
    }

    /** Opens the socket on the next tick, unless disconnected meanwhile (as ioredis's own). */
    connect(): Promise<Socket> {
      this.connecting = true;
      return new Promise((resolve, reject) => {
        process.nextTick(() => {
          if (!this.connecting) return reject(new Error(CONNECTION_CLOSED_MESSAGE));
          try {
            resolve(this.open());
          } catch (error) {
            reject(error as Error);
          }
        });
      });
    }

    private open(): Socket {
      const { host, port = DEFAULT_PORT, family, path, tls } = this.options;
      const where = path ? { path } : { host, port, family };
      const stream = tls ? connectTls({ ...where, ...tls }) : createConnection(where);
      this.stream = stream;
      sockets.add(stream);
      stream.once('error', (error: Error) => (this.firstError = error));
      return stream;
    }

    /**
     * Ends the socket as ioredis does (destroyed if it has not closed within the disconnect timeout), unless it is
     * closed already: then there is nothing to end, and no timer is started.
     */
    disconnect(): void {
      this.connecting = false;
      const stream = this.stream as Socket | undefined;
      if (!stream || stream.destroyed) return;
      const timer = setTimeout(() => stream.destroy(), this.options.disconnectTimeout ?? DEFAULT_DISCONNECT_TIMEOUT_MS);
      stream.once('close', () => clearTimeout(timer));
      stream.end();
    }
  };
}
