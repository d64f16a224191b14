import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { DelayProxy } from './delay-proxy.js';
import { eventually } from './eventually.js';
import { freePort, RedisServer } from './redis-server.js';

/**
 * A Redis Cluster of the test's own: `primaries` `redis-server --cluster-enabled yes` processes on free loopback
 * ports (no replicas), joined with `redis-cli --cluster create`. With `proxied`, each node tells clients to reach
 * it through a {@link DelayProxy} of its own (`proxies`, in the order of `nodes`). Stop it with {@link stop}.
 */
export class RedisCluster {
  private constructor(
    readonly nodes: RedisServer[],
    private readonly password?: string,
    readonly proxies: DelayProxy[] = [],
  ) {}

  static async start(primaries = 3, password?: string, proxied = false): Promise<RedisCluster> {
    const nodes: RedisServer[] = [];
    for (let index = 0; index < primaries; index++) {
      // Without full coverage required, the nodes still up keep serving their slots while one is down.
      const args = [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-require-full-coverage',
        'no',
      ];
      args.push('--cluster-port', String(await freePort()), '--cluster-node-timeout', '1000');
      nodes.push(await RedisServer.start({ password, args }));
    }
    const proxies = proxied ? await Promise.all(nodes.map((node) => DelayProxy.start(node.port))) : [];
    const cluster = new RedisCluster(nodes, password, proxies);
    for (const [index, proxy] of proxies.entries()) {
      await cluster.ask(nodes[index]!, 'CONFIG', 'SET', 'cluster-announce-port', String(proxy.port));
    }
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
    const auth = password ? ['-a', password, '--no-auth-warning'] : [];
    await promisify(execFile)('redis-cli', [
      ...auth,
      '--cluster',
      'create',
      ...addresses,
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    for (const node of nodes) {
      await eventually(
        async () => (await cluster.ask(node, 'CLUSTER', 'INFO')).includes('cluster_state:ok'),
        'the cluster',
      );
    }
    return cluster;
  }

  /** The cache URL of the cluster: every node a seed. */
  url(query = '', credentials = ''): string {
    const seeds = this.nodes.map((node) => `127.0.0.1:${node.port}`).join(',');
    return `redis-cluster://${credentials ? `${credentials}@` : ''}${seeds}/${query ? `?${query}` : ''}`;
  }

  /** One command sent to one node, its reply as text. */
  async ask(node: RedisServer, ...command: string[]): Promise<string> {
    const client = new Redis({ port: node.port, host: '127.0.0.1', password: this.password, lazyConnect: true });
    try {
      await client.connect();
      const [name, ...args] = command;
      return String(await client.call(name!, ...args));
    } finally {
      client.disconnect();
    }
  }

  /** The node serving a key's slot. */
  async ownerOf(key: string): Promise<RedisServer> {
    const slot = Number(await this.ask(this.nodes[0]!, 'CLUSTER', 'KEYSLOT', key));
    for (const node of this.nodes) {
      const slots = await this.slotsOf(node);
      if (slots.some(([from, to]) => slot >= from && slot <= to)) return node;
    }
    throw new Error(`no node serves slot ${slot}`);
  }

  /** The slot ranges a node serves, from `CLUSTER SLOTS`. */
  private async slotsOf(node: RedisServer): Promise<[number, number][]> {
    const client = new Redis({ port: node.port, host: '127.0.0.1', password: this.password });
    try {
      const ranges = await client.cluster('SLOTS');
      return ranges.filter(([, , primary]) => primary?.[1] === node.port).map(([from, to]) => [from, to]);
    } finally {
      client.disconnect();
    }
  }

  /** The id of a node in the cluster. */
  nodeId(node: RedisServer): Promise<string> {
    return this.ask(node, 'CLUSTER', 'MYID');
  }

  async stop(): Promise<void> {
    await Promise.all(this.proxies.map((proxy) => proxy.stop()));
    await Promise.all(this.nodes.map((node) => node.stop()));
  }
}
