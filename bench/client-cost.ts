/**
 * The CPU one `/flags` round trip costs, in one process against a loopback server that answers every request with
 * the same `/flags` body (its CPU counted for every contender alike): this module's client, the same request
 * through Node's global `fetch` (the module's client before), posthog-node's `getAllFlags`, and a bare `node:http`
 * keep-alive request as the floor. 8 calls in flight; the contenders take turns, the order reversed every other
 * round. Run by `npm run bench:client`, and by `npm run bench`, which also prices its refreshes with ours.
 */
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { PostHog } from 'posthog-node';
import { resolveFlagsOptions } from '../src/options/resolve-flags-options.js';
import { flagsRequestBody } from '../src/upstream/flags-request-body.js';
import { USER_AGENT } from '../src/flags.constants.js';
import { PostHogClient } from '../src/upstream/posthog-client.js';
import { inRound, median } from './turns.js';

/** The contenders of the client microbench, by name. */
export const OURS_CLIENT = 'nestjs-posthog-flags';
export const FETCH_CLIENT = 'global fetch';

/** How a client measurement is sized. */
export interface ClientCostOptions {
  rounds: number;
  callsPerRound: number;
}

/** What the client microbench measured. */
export interface ClientCost {
  /** CPU µs per round trip (client and loopback server), median of the rounds, by contender. */
  microsPerCall: Record<string, number>;
  /** Ours over `fetch`'s, median of the rounds' ratios. */
  oursToFetch: number;
  rounds: number;
  callsPerRound: number;
}

const IN_FLIGHT = 8;
const API_KEY = 'phc_bench_client';

type Call = (user: string) => Promise<unknown>;

/** A `/flags` answer of two flags, one with a payload, as PostHog sends it. */
const FLAGS_ANSWER = JSON.stringify({
  flags: {
    beta: {
      key: 'beta',
      enabled: true,
      reason: { code: 'condition_match', condition_index: 0, description: 'Condition set 1 matched' },
      metadata: { id: 1, version: 1, payload: '{"color":"blue"}' },
    },
    checkout: {
      key: 'checkout',
      enabled: true,
      variant: 'test',
      reason: { code: 'condition_match', condition_index: 0, description: 'Condition set 1 matched' },
      metadata: { id: 2, version: 1 },
    },
  },
  errorsWhileComputingFlags: false,
  requestId: 'bench-request',
});

/** Measures every contender in turns: the median CPU per round trip of each, and ours over `fetch`'s. */
export async function measureClientCost({ rounds, callsPerRound }: ClientCostOptions): Promise<ClientCost> {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(200, { 'Content-Type': 'application/json' }).end(FLAGS_ANSWER));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const ours = new PostHogClient(resolveFlagsOptions({ apiKey: API_KEY, host }, {}));
  const posthog = new PostHog(API_KEY, { host, flushAt: 1_000_000, flushInterval: 0, disableGeoip: true });
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const flagsUrl = `${host}/flags/?v=2`;
  const headers = { 'Content-Type': 'application/json', 'User-Agent': USER_AGENT };

  const contenders: Record<string, Call> = {
    [OURS_CLIENT]: (user) => firstValueFrom(ours.requestFlags({ distinctId: user })),
    [FETCH_CLIENT]: async (user) => {
      const response = await fetch(flagsUrl, {
        method: 'POST',
        headers,
        body: flagsRequestBody(API_KEY, { distinctId: user }, { disableGeoip: true }),
        redirect: 'manual',
      });
      return JSON.parse(await response.text()) as unknown;
    },
    'posthog-node getAllFlags': (user) => posthog.getAllFlags(user, { disableGeoip: true }),
    'node:http keep-alive (floor)': (user) =>
      httpPost(flagsRequestBody(API_KEY, { distinctId: user }, { disableGeoip: true })),
  };

  /** A bare POST on the keep-alive agent: the least any client can do. */
  function httpPost(body: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const request = httpRequest(flagsUrl, { method: 'POST', agent, headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
        response.on('error', reject);
      });
      request.on('error', reject);
      request.end(body);
    });
  }

  /** CPU µs (user + system, this process: client and server together) per call, over `calls` calls. */
  async function cpuPerCall(call: Call, calls: number): Promise<number> {
    const start = process.cpuUsage();
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < calls) await call(`user-${next++ % 200}`);
      }),
    );
    const used = process.cpuUsage(start);
    return (used.user + used.system) / calls;
  }

  try {
    const names = Object.keys(contenders);
    for (const name of names) await cpuPerCall(contenders[name]!, callsPerRound);
    const perRound: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const name of inRound(names, round)) {
        perRound[name]!.push(await cpuPerCall(contenders[name]!, callsPerRound));
      }
    }
    const ratios = perRound[OURS_CLIENT]!.map((ours, round) => ours / perRound[FETCH_CLIENT]![round]!);
    return {
      microsPerCall: Object.fromEntries(names.map((name) => [name, median(perRound[name]!)])),
      oursToFetch: median(ratios),
      rounds,
      callsPerRound,
    };
  } finally {
    await ours.onApplicationShutdown();
    await posthog.shutdown();
    agent.destroy();
    server.closeAllConnections();
    server.close();
  }
}
