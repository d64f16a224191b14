import { afterAll, beforeAll } from '@jest/globals';
import { Redis } from 'ioredis';
import { RedisServer } from './redis-server.js';

/** A describe block's own `redis-server`, and a client to read and write its keys. */
export interface RedisSuite {
  /** The server: its `url()` for the module's cache URL, its `port`. */
  readonly server: RedisServer;
  /** A connected client of the server. */
  readonly client: Redis;
}

/**
 * Starts a `redis-server` and connects a client to it before the block's tests; disconnects and stops both after
 * them. Call it in a `describe` block.
 */
export function redisSuite(): RedisSuite {
  let server: RedisServer | undefined;
  let client: Redis | undefined;
  beforeAll(async () => {
    server = await RedisServer.start();
    client = new Redis({ port: server.port, host: '127.0.0.1', lazyConnect: true });
    await client.connect();
  });
  afterAll(async () => {
    client?.disconnect();
    await server?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('redisSuite(): the server is only there during the tests');
    return value;
  };
  return {
    get server() {
      return started(server);
    },
    get client() {
      return started(client);
    },
  };
}
