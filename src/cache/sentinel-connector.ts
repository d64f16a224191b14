import type { Socket } from 'node:net';
import {
  SentinelConnector,
  type Redis,
  type RedisOptions,
  type SentinelAddress,
  type SentinelConnectionOptions,
} from 'ioredis';
import type { RedisSockets } from './redis-sockets.js';
import { CONNECTION_CLOSED_MESSAGE, type ConnectorClass } from './tcp-connector.js';

/** The members of ioredis's Sentinel connector used here (`connectToSentinel` is private in its typings). */
interface SentinelConnectorBase {
  stream?: Socket;
  connect(emit: (type: string, error: Error) => void): Promise<Socket>;
  disconnect(): void;
  connectToSentinel(endpoint: Partial<SentinelAddress>, options?: Partial<RedisOptions>): Redis;
}

const Base = SentinelConnector as unknown as new (options: SentinelConnectionOptions) => SentinelConnectorBase;

/**
 * ioredis's Sentinel connector, changed so that disconnecting leaves nothing behind: every socket (to the
 * primary, to the sentinels) is tracked in `sockets`, the sentinels' clients use `sentinelClient` (a
 * tracking connector), and the pause between two rounds over unreachable sentinels (`sentinelRetryStrategy`) is a
 * timer of its own that disconnecting clears. ioredis sleeps on a timer it never clears, then asks every sentinel
 * once more.
 */
export function sentinelConnector(sockets: RedisSockets, sentinelClient: ConnectorClass): ConnectorClass {
  class ClosableSentinelConnector extends Base {
    private readonly retryDelay: SentinelConnectionOptions['sentinelRetryStrategy'];
    private stopped = false;
    private endPause?: () => void;

    constructor(options: unknown) {
      const given = options as SentinelConnectionOptions;
      super({ ...given, sentinelRetryStrategy: undefined });
      this.retryDelay = given.sentinelRetryStrategy;
    }

    /** One round over the sentinels at a time; a failed round is reported, then tried again after the delay. */
    async connect(emit: (type: string, error: Error) => void): Promise<Socket> {
      this.stopped = false;
      for (let attempt = 1; ; attempt += 1) {
        try {
          const stream = await super.connect(emit);
          sockets.add(stream);
          return stream;
        } catch (error) {
          const delay = this.stopped ? null : this.retryDelay?.(attempt);
          if (typeof delay !== 'number') throw error;
          emit('error', new Error(`${lastErrorOf(error as Error)}; trying again in ${delay} ms`, { cause: error }));
          await this.pause(delay);
          if (this.stopped) throw new Error(CONNECTION_CLOSED_MESSAGE, { cause: error });
        }
      }
    }

    /** Stops the retries, forgets a primary socket that is already closed, then disconnects as ioredis does. */
    disconnect(): void {
      this.stopped = true;
      this.endPause?.();
      if (this.stream?.destroyed) this.stream = undefined;
      super.disconnect();
    }

    connectToSentinel(endpoint: Partial<SentinelAddress>, options?: Partial<RedisOptions>): Redis {
      return super.connectToSentinel(endpoint, { ...options, Connector: sentinelClient });
    }

    private pause(ms: number): Promise<void> {
      return new Promise((resume) => {
        const timer = setTimeout(() => this.endPause?.(), ms);
        this.endPause = () => {
          clearTimeout(timer);
          this.endPause = undefined;
          resume();
        };
      });
    }
  }
  return ClosableSentinelConnector as unknown as ConnectorClass;
}

/** "all sentinels are unreachable" with ioredis's last error, without its "retry is disabled". */
function lastErrorOf(error: Error): string {
  const last = /Last error: (.*)$/s.exec(error.message)?.[1];
  return `all sentinels are unreachable${last ? ` (last error: ${last})` : ''}`;
}
