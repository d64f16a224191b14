import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { eventually } from './eventually.js';
import { RedisServer } from './redis-server.js';

/** The primary's name the sentinels watch. */
export const PRIMARY_NAME = 'mymaster';

/**
 * A Sentinel-managed primary of the test's own: a primary, one replica and three `redis-server --sentinel`
 * processes, all on free loopback ports. `password` protects the data servers, `sentinelPassword` the sentinels.
 */
export class RedisSentinelGroup {
  private constructor(
    readonly primary: RedisServer,
    readonly replica: RedisServer,
    readonly sentinels: RedisServer[],
    private readonly configDir: string,
    private readonly password?: string,
    private readonly sentinelPassword?: string,
  ) {}

  static async start(options: { password?: string; sentinelPassword?: string } = {}): Promise<RedisSentinelGroup> {
    const { password, sentinelPassword } = options;
    const auth = password ? ['--masterauth', password] : [];
    const primary = await RedisServer.start({ password, args: auth });
    const replica = await RedisServer.start({
      password,
      args: [...auth, '--replicaof', '127.0.0.1', String(primary.port)],
    });
    const configDir = mkdtempSync(join(tmpdir(), 'flags-sentinel-'));
    const sentinels: RedisServer[] = [];
    for (let index = 0; index < 3; index++) {
      const configFile = join(configDir, `sentinel-${index}.conf`);
      const lines = [
        `sentinel monitor ${PRIMARY_NAME} 127.0.0.1 ${primary.port} 2`,
        `sentinel down-after-milliseconds ${PRIMARY_NAME} 1000`,
        `sentinel failover-timeout ${PRIMARY_NAME} 3000`,
        ...(password ? [`sentinel auth-pass ${PRIMARY_NAME} ${password}`] : []),
      ];
      writeFileSync(configFile, `${lines.join('\n')}\n`);
      sentinels.push(
        await RedisServer.start({
          configFile,
          args: ['--sentinel'],
          readyLine: '+monitor master',
          password: sentinelPassword,
        }),
      );
    }
    const group = new RedisSentinelGroup(primary, replica, sentinels, configDir, password, sentinelPassword);
    await eventually(async () => (await group.replicasKnown()) > 0, 'the sentinels to know the replica');
    return group;
  }

  /** The cache URL reaching the primary through the sentinels. */
  url(query = '', credentials = ''): string {
    const sentinels = this.sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(',');
    const params = [`name=${PRIMARY_NAME}`, ...(query ? [query] : [])].join('&');
    return `redis-sentinel://${credentials ? `${credentials}@` : ''}${sentinels}/0?${params}`;
  }

  /** Forces a failover (`SENTINEL FAILOVER`) and waits until the sentinels name the replica as the primary. */
  async failover(): Promise<void> {
    await this.ask('SENTINEL', 'FAILOVER', PRIMARY_NAME);
    await eventually(
      async () =>
        (await this.ask('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', PRIMARY_NAME)).includes(String(this.replica.port)),
      'the replica to become the primary',
    );
  }

  /** Sends one command to the first primary (a group without a password); the first line of its reply. */
  primaryCommand(...args: string[]): Promise<string> {
    return this.primary.command(...args);
  }

  /** Whether the replica (the primary after a failover) holds the key. */
  replicaHas(key: string): Promise<boolean> {
    return this.holds(this.replica, key);
  }

  /** Whether the first primary holds the key. */
  primaryHas(key: string): Promise<boolean> {
    return this.holds(this.primary, key);
  }

  private async holds(server: RedisServer, key: string): Promise<boolean> {
    const client = new Redis({ port: server.port, host: '127.0.0.1', password: this.password });
    try {
      return (await client.exists(key)) === 1;
    } finally {
      client.disconnect();
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.sentinels, this.replica, this.primary].map((server) => server.stop()));
    rmSync(this.configDir, { recursive: true, force: true });
  }

  private async replicasKnown(): Promise<number> {
    const replicas = JSON.parse(await this.ask('SENTINEL', 'REPLICAS', PRIMARY_NAME)) as unknown[];
    return replicas.length;
  }

  /** One command to the first sentinel; its reply as JSON text. */
  private async ask(...command: string[]): Promise<string> {
    const sentinel = this.sentinels[0]!;
    const client = new Redis({ port: sentinel.port, host: '127.0.0.1', password: this.sentinelPassword });
    try {
      const [name, ...args] = command;
      return JSON.stringify(await client.call(name!, ...args));
    } finally {
      client.disconnect();
    }
  }
}
