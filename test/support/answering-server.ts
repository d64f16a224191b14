import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback HTTP server whose answer a test sets, counting the requests, responses open and connections it saw:
 * for the specs of the HTTP client. Each request's body is read and dropped.
 */
export class AnsweringServer {
  /** How the next requests are answered. Default: `200` with `{}`. */
  answer: (response: ServerResponse) => void = (response) => response.writeHead(200).end('{}');
  /** Requests received. */
  received = 0;
  /** Responses begun and not closed yet (a stalled one stays open while its connection does). */
  open = 0;
  /** The most responses open at once (a test may set it back to 0). */
  maxOpen = 0;
  /** Connections accepted. */
  connections = 0;

  private readonly server = createServer((request, response) => {
    this.received++;
    this.open++;
    this.maxOpen = Math.max(this.maxOpen, this.open);
    response.once('close', () => this.open--);
    request.resume();
    this.answer(response);
  }).on('connection', () => this.connections++);

  private constructor() {}

  /** Starts a server on a free loopback port. */
  static async start(): Promise<AnsweringServer> {
    const started = new AnsweringServer();
    await new Promise<void>((resolve) => started.server.listen(0, '127.0.0.1', resolve));
    return started;
  }

  /** The server's base URL, `http://127.0.0.1:<port>`. */
  get host(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Ends every connection at once and stops listening. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
