/**
 * `npm run bench:client`: the CPU one `/flags` round trip costs, in one process against a loopback server that
 * answers every request with the same `/flags` body (its CPU counted for every contender alike): this module's
 * client, the same request through Node's
 * global `fetch` (the module's client before), posthog-node's `getAllFlags`, and a bare `node:http` keep-alive
 * request as the floor. 8 calls in flight; the contenders take turns, the order reversed every other round; the
 * median of the rounds is printed, with the yardstick: ours ≤ 0.35 × fetch's (median of the rounds' ratios).
 */
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { PostHog } from 'posthog-node';
import { resolveFlagsOptions } from '../src/options/resolve-flags-options.js';
import { flagsRequestBody, PostHogClient, USER_AGENT } from '../src/upstream/posthog-client.js';

const ROUNDS = 11;
const CALLS_PER_ROUND = 400;
const IN_FLIGHT = 8;
const API_KEY = 'phc_bench_client';
const YARDSTICK = 0.35;

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
  'nestjs-posthog-flags': (user) => firstValueFrom(ours.requestFlags({ distinctId: user })),
  'global fetch': async (user) => {
    const response = await fetch(flagsUrl, {
      method: 'POST',
      headers,
      body: flagsRequestBody(API_KEY, { distinctId: user }),
      redirect: 'manual',
    });
    return JSON.parse(await response.text());
  },
  'posthog-node getAllFlags': (user) => posthog.getAllFlags(user, { disableGeoip: true }),
  'node:http keep-alive (floor)': (user) => httpPost(flagsRequestBody(API_KEY, { distinctId: user })),
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

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const names = Object.keys(contenders);
for (const name of names) await cpuPerCall(contenders[name]!, CALLS_PER_ROUND);
const perRound: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const name of round % 2 ? [...names].reverse() : names) {
    perRound[name]!.push(await cpuPerCall(contenders[name]!, CALLS_PER_ROUND));
  }
}

console.log(
  `CPU per /flags round trip (client + loopback server, µs), median of ${ROUNDS} rounds of ${CALLS_PER_ROUND} calls:`,
);
for (const name of names) console.log(`  ${name.padEnd(30)} ${median(perRound[name]!).toFixed(1).padStart(7)} µs`);
const ratios = perRound['nestjs-posthog-flags']!.map((ours, round) => ours / perRound['global fetch']![round]!);
const ratio = median(ratios);
console.log(
  `\nyardstick: ours ≤ ${YARDSTICK} × fetch's (median of the rounds' ratios): ${ratio.toFixed(3)} × ` +
    `${ratio <= YARDSTICK ? '✓' : '✗'}`,
);

await ours.onApplicationShutdown();
await posthog.shutdown();
agent.destroy();
server.closeAllConnections();
server.close();
