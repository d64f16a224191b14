import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisCacheConfig } from './cache-config.js';
import type { RedisSockets } from './redis-sockets.js';
import { sentinelConnector } from './sentinel-connector.js';
import { tcpConnector } from './tcp-connector.js';

/** A connection to one server (or to the primary a Sentinel names), or to a Redis Cluster. */
export type RedisConnection = Redis | Cluster;

/** Longest wait between reconnection attempts while Redis is unreachable. */
const MAX_RECONNECT_DELAY_MS = 2000;
/** Shortest time a connection attempt is given, whatever the command timeout. */
const MIN_CONNECT_TIMEOUT_MS = 1000;

/** How long a connection attempt may take: the URL's `timeout`, at least 1 s. */
export function connectTimeoutMs(config: RedisCacheConfig): number {
  return Math.max(config.timeoutMs, MIN_CONNECT_TIMEOUT_MS);
}

/**
 * Opens the connection the URL asks for: one server, a Sentinel-managed primary (`sentinel`), or a Redis Cluster
 * (`cluster`). No command waits for the client's connection: while it is down (the primary during a failover) a
 * command fails at once, nothing is queued; each command is bounded by the URL's `timeout`. (ioredis queues a
 * command to a cluster node whose connection is being made; its timeout runs meanwhile.) Every connection, a
 * cluster node's included, reconnects by itself; once `isClosed()`, no reconnection is tried. Every socket it
 * opens is tracked in `sockets` (see {@link closeRedis}).
 */
export function connectRedis(
  config: RedisCacheConfig,
  isClosed: () => boolean,
  sockets: RedisSockets,
): RedisConnection {
  /** Reconnection delays: 100 ms more per attempt, at most 2 s; none once closed. */
  const reconnectDelay = (attempt: number) => (isClosed() ? null : Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS));
  const tcp = tcpConnector(sockets);
  const options: RedisOptions = {
    username: config.username,
    password: config.password,
    commandTimeout: config.timeoutMs,
    connectTimeout: connectTimeoutMs(config),
    // How long a socket being closed is given before it is destroyed.
    disconnectTimeout: config.timeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: reconnectDelay,
    Connector: tcp,
  };
  if (config.cluster) {
    const clusterOptions: ClusterOptions = {
      redisOptions: { ...options, ...(config.tls ? { tls: {} } : {}) },
      // With TLS, node names are kept as given, not resolved to addresses, so that certificates match them
      // (ElastiCache's configuration endpoint, as ioredis documents).
      ...(config.tls ? { dnsLookup: (address, lookedUp) => lookedUp(null, address) } : {}),
      enableOfflineQueue: false,
      clusterRetryStrategy: reconnectDelay,
      // A node's connection whose handshake failed (timed out on a busy host) connects again, as the others do,
      // instead of ending and being made again cold on a later command.
      clusterNodeRetryStrategy: reconnectDelay,
      slotsRefreshTimeout: connectTimeoutMs(config),
    };
    return new Cluster(config.cluster.nodes, clusterOptions);
  }
  if (config.sentinel) {
    const { nodes, name, password } = config.sentinel;
    return new Redis({
      ...options,
      db: config.db,
      sentinels: nodes,
      name,
      sentinelPassword: password,
      sentinelRetryStrategy: reconnectDelay,
      Connector: sentinelConnector(sockets, tcp),
      failoverDetector: true,
      ...(config.tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
    });
  }
  return new Redis({
    ...options,
    host: config.host,
    port: config.port,
    db: config.db,
    tls: config.tls ? { servername: config.host } : undefined,
  });
}

/**
 * Closes the connection and resolves once nothing of it is left: `QUIT` first when `connected` (what was sent
 * completes), then a disconnect (no reconnection, no retry pending), then every socket it opened closed; sockets
 * still connecting are destroyed, the others are given `timeoutMs` to close.
 */
export async function closeRedis(
  client: RedisConnection,
  sockets: RedisSockets,
  connected: boolean,
  timeoutMs: number,
): Promise<void> {
  if (connected) await client.quit().catch(() => {});
  client.disconnect();
  await sockets.allClosed(timeoutMs);
}
