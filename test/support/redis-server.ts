import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Files of a TLS setup made for a test (see `tls-certificates.ts`). */
export interface RedisTlsFiles {
  cert: string;
  key: string;
  ca: string;
}

/** How to start a throwaway `redis-server`. */
export interface RedisServerOptions {
  /** `requirepass`: clients must authenticate with this password. */
  password?: string;
  /** Serve TLS only, with these files (clients are not asked for certificates). */
  tls?: RedisTlsFiles;
  /** More `redis-server` arguments (a cluster node's, a replica's, a sentinel's). */
  args?: string[];
  /** A configuration file to start from (a sentinel needs one it can write), given before the arguments. */
  configFile?: string;
  /** The log line that says the process is ready. Default: `Ready to accept connections`. */
  readyLine?: string;
}

/** A free TCP port on 127.0.0.1 at the time of asking. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A real `redis-server` process of the test's own, on a free loopback port, persisting nothing. Never the shared
 * Redis on 6379. Fails loudly when the binary is missing.
 */
export class RedisServer {
  private process?: ChildProcess;
  private readonly dir = mkdtempSync(join(tmpdir(), 'flags-redis-'));

  private constructor(
    readonly port: number,
    private readonly options: RedisServerOptions,
  ) {}

  /** Starts a server on a free port. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), options);
    await server.resume();
    return server;
  }

  /** The cache URL of this server, with `credentials` (`user:pass`) and query when given. */
  url(query = '', credentials = ''): string {
    const scheme = this.options.tls ? 'rediss' : 'redis';
    return `${scheme}://${credentials ? `${credentials}@` : ''}localhost:${this.port}/0${query ? `?${query}` : ''}`;
  }

  /** Starts the process (again) on its port and waits until it accepts connections. */
  async resume(): Promise<void> {
    const child = spawn('redis-server', this.args(), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.process = child;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes(this.options.readyLine ?? 'Ready to accept connections')) {
          child.stdout!.off('data', onData);
          child.off('exit', onExit);
          resolve();
        }
      };
      const onExit = () => reject(new Error(`redis-server exited before it was ready:\n${output}`));
      child.stdout!.on('data', onData);
      child.once('exit', onExit);
      child.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'ENOENT'
            ? new Error('redis-server is not installed; the Redis tests need it (apt-get install redis-server)')
            : error,
        ),
      );
    });
  }

  /**
   * Sends one command on a fresh raw connection (no client handshake, which a `CLIENT PAUSE` would hold up)
   * and resolves with the first line of the reply.
   */
  async command(...args: string[]): Promise<string> {
    const socket = connect(this.port, '127.0.0.1');
    const request = `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
    socket.write(request);
    let reply = '';
    for await (const chunk of socket) {
      reply += (chunk as Buffer).toString();
      if (reply.includes('\r\n')) break;
    }
    socket.destroy();
    return reply.split('\r\n')[0];
  }

  /** Stops the process (SIGKILL when `abruptly`, as a crash) and waits for it to exit. */
  async halt(abruptly = false): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(abruptly ? 'SIGKILL' : 'SIGTERM');
    await exited;
  }

  /** Stops the process and removes its directory. */
  async stop(): Promise<void> {
    await this.halt();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The directory of the process's own files. */
  get directory(): string {
    return this.dir;
  }

  private args(): string[] {
    const args = this.options.configFile ? [this.options.configFile] : [];
    args.push('--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir);
    args.push(...(this.options.args ?? []));
    if (this.options.password) args.push('--requirepass', this.options.password);
    const { tls } = this.options;
    if (tls) {
      args.push('--port', '0', '--tls-port', String(this.port), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key);
      args.push('--tls-ca-cert-file', tls.ca, '--tls-auth-clients', 'no');
    } else {
      args.push('--port', String(this.port));
    }
    return args;
  }
}
