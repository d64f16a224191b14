import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { ConnectionReadiness } from './connection-readiness.js';
import type { RedisConnection } from './redis-connection.js';

/** A stand-in for an ioredis connection: a status, its events, and `connect()`. */
class FakeConnection extends EventEmitter {
  connects = 0;
  constructor(public status: string) {
    super();
  }
  connect(): Promise<void> {
    this.connects++;
    this.status = 'connecting';
    return Promise.resolve();
  }
  become(status: 'ready' | 'end'): void {
    this.status = status;
    this.emit(status);
  }
}

const asConnection = (fake: FakeConnection) => fake as unknown as RedisConnection;

describe('ConnectionReadiness', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('answers at once for a ready or ended connection, without a timer', async () => {
    jest.useFakeTimers();
    const readiness = new ConnectionReadiness(1000);
    expect(await readiness.ready(asConnection(new FakeConnection('ready')))).toBe(true);
    expect(await readiness.ready(asConnection(new FakeConnection('end')))).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('shares one wait (one listener, one timer) between callers, ended by ready', async () => {
    jest.useFakeTimers();
    const readiness = new ConnectionReadiness(1000);
    const node = new FakeConnection('connecting');
    const waits = Array.from({ length: 50 }, () => readiness.ready(asConnection(node)));
    expect(node.listenerCount('ready')).toBe(1);
    expect(jest.getTimerCount()).toBe(1);
    node.become('ready');
    expect(await Promise.all(waits)).toEqual(waits.map(() => true));
    expect(node.listenerCount('ready') + node.listenerCount('end')).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('starts a connection never used, and gives up after the bound', async () => {
    jest.useFakeTimers();
    const readiness = new ConnectionReadiness(1000);
    const node = new FakeConnection('wait');
    const wait = readiness.ready(asConnection(node));
    expect(node.connects).toBe(1);
    jest.advanceTimersByTime(1000);
    expect(await wait).toBe(false);
    expect(node.listenerCount('ready') + node.listenerCount('end')).toBe(0);
  });

  it('ends every wait at once on close, and starts none after', async () => {
    jest.useFakeTimers();
    const readiness = new ConnectionReadiness(1000);
    const [first, second] = [new FakeConnection('connecting'), new FakeConnection('reconnecting')];
    const waits = [readiness.ready(asConnection(first)), readiness.ready(asConnection(second))];
    readiness.close();
    expect(await Promise.all(waits)).toEqual([false, false]);
    expect(jest.getTimerCount()).toBe(0);
    expect(await readiness.ready(asConnection(new FakeConnection('connecting')))).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('ends the wait when the connection ends', async () => {
    const readiness = new ConnectionReadiness(60_000);
    const node = new FakeConnection('connecting');
    const wait = readiness.ready(asConnection(node));
    node.become('end');
    expect(await wait).toBe(false);
  });
});
