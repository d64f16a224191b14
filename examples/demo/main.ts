/**
 * `npm run demo`: nestjs-posthog-flags doing its job against a local fake PostHog, no network.
 * Walks through live → outage → fallback → recovery and prints what each request was answered, and from where.
 */
import 'reflect-metadata';
import { Controller, Get, Module, Param } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { filter, firstValueFrom } from 'rxjs';
import { FlagsModule, FlagsService } from '../../src/index.js';
import { FakePostHog } from '../../src/testing/index.js';

@Controller('checkout')
class CheckoutController {
  constructor(private readonly flags: FlagsService) {}

  /** Which checkout a user gets, and where that answer came from. */
  @Get(':user')
  async checkout(@Param('user') user: string) {
    const result = await this.flags.getFlagResult('new-checkout', user);
    return {
      user,
      checkout: result?.variant ?? (result?.enabled ? 'on' : 'classic'),
      source: result?.source ?? 'unknown',
      evaluatedAt: result?.evaluatedAt,
    };
  }
}

async function main(): Promise<void> {
  const posthog = await FakePostHog.start();
  posthog.setFlag('new-checkout', { value: 'test', payload: { discount: 10 } });
  posthog.setFlag('new-checkout', false, { distinctId: 'bob' });

  @Module({
    imports: [
      FlagsModule.forRoot({
        apiKey: posthog.apiKey,
        host: posthog.url,
        cacheUrl: 'memory://local?ttl=3600&size=10000',
        timeoutMs: 300,
        circuitBreaker: { failureThreshold: 3, resetTimeoutMs: 1000 },
      }),
    ],
    controllers: [CheckoutController],
  })
  class DemoModule {}

  const app = await NestFactory.create(DemoModule, { logger: ['warn', 'error', 'log'] });
  await app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`;

  const ask = async (user: string) => {
    const response = await fetch(`${base}/checkout/${encodeURIComponent(user)}`);
    const answer = (await response.json()) as { checkout: string; source: string; evaluatedAt?: string };
    const age = answer.evaluatedAt ? ` (evaluated ${Date.now() - Date.parse(answer.evaluatedAt)} ms ago)` : '';
    console.log(`  GET /checkout/${user.padEnd(6)} → ${String(answer.checkout).padEnd(8)} from ${answer.source}${age}`);
  };
  const step = (title: string) => console.log(`\n== ${title}`);
  const flags = app.get(FlagsService);
  const status = () => {
    const { upstream, circuit, counts } = flags.status();
    console.log(`  status: upstream ${upstream}, circuit ${circuit}, answers so far ${JSON.stringify(counts)}`);
  };

  try {
    step('1. PostHog is up: answers are live, and remembered');
    await ask('alice');
    await ask('bob');

    step('2. PostHog hangs (each attempt times out after 300 ms, one retry): last known values are served');
    await posthog.setOutage('hanging');
    await ask('alice');
    await ask('bob');
    await ask('carol');
    console.log('  (carol was never seen: nothing is known, so the app falls back to its own default)');

    status();

    step('3. PostHog refuses connections; the circuit opened after 3 failed calls: no call, no wait');
    await posthog.setOutage('down');
    const before = posthog.requests.length;
    await ask('alice');
    await ask('bob');
    console.log(`  PostHog was called ${posthog.requests.length - before} times for these`);
    status();

    step('4. PostHog is back, and bob is now in the test: after 1 s one probe goes out (its caller is not held)');
    await posthog.setOutage(undefined);
    posthog.setFlag('new-checkout', 'control', { distinctId: 'bob' });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const closed = firstValueFrom(flags.events$.pipe(filter((event) => event.type === 'circuit_closed')));
    await ask('alice');
    await closed;
    console.log('  the probe succeeded and closed the circuit: live again');
    await ask('alice');
    await ask('bob');
    await ask('carol');
    status();
    console.log(`\nPostHog received ${posthog.requests.length} /flags calls in all.`);
  } finally {
    await app.close();
    await posthog.close();
  }
}

await main();
