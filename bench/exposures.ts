/**
 * `npm run bench:exposures`: how many exposure events per second reach a fake PostHog whose `/batch/` answers in
 * 20 ms. The module's queue is given 20,000 events at once (distinct users, so none is deduplicated) and the time
 * until PostHog accepted them all is measured; median of 3 rounds, with the yardstick ≥ 5,000 events/s.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ExposureQueue } from '../src/exposures/exposure-queue.js';
import { FlagsModule, FlagsService } from '../src/index.js';
import { FakePostHog } from '../test/support/fake-posthog.js';

const EVENTS = 20_000;
const ROUNDS = 3;
const BATCH_LATENCY_MS = 20;
const YARDSTICK = 5_000;

const fake = await FakePostHog.start();
fake.batchLatencyMs = BATCH_LATENCY_MS;
const app = await NestFactory.createApplicationContext(
  FlagsModule.forRoot({ apiKey: 'phc_bench_exposures', host: fake.url, eventQueue: { maxQueueSize: EVENTS } }),
  { logger: false },
);
const queue = app.get(ExposureQueue);
const flags = app.get(FlagsService);
/** One read of `beta`, as a snapshot reports it. */
const called = {
  key: 'beta',
  response: true,
  properties: () => ({ $feature_flag: 'beta', $feature_flag_response: true }),
};

/** Events per second from the first event queued to the last one accepted by PostHog. */
async function deliveryRate(round: number): Promise<number> {
  const sentBefore = flags.status().exposures.sent;
  const start = process.hrtime.bigint();
  for (let user = 0; user < EVENTS; user++) queue.exposed({ distinctId: `r${round}-user-${user}` }, called);
  while (flags.status().exposures.sent - sentBefore < EVENTS) {
    await queue.flush();
    if (flags.status().exposures.queued === 0 && flags.status().exposures.sent - sentBefore < EVENTS) {
      throw new Error(`events lost: ${JSON.stringify(flags.status().exposures)}`);
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  fake.batches.length = 0;
  return EVENTS / seconds;
}

const rates: number[] = [];
for (let round = 0; round < ROUNDS; round++) rates.push(await deliveryRate(round));
const median = [...rates].sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!;
console.log(
  `exposure events delivered to a /batch/ answering in ${BATCH_LATENCY_MS} ms: ` +
    `${rates.map((rate) => Math.round(rate)).join(', ')} events/s (median ${Math.round(median)})`,
);
console.log(`yardstick: ≥ ${YARDSTICK} events/s: ${median >= YARDSTICK ? '✓' : '✗'}`);
await app.close();
await fake.stop();
