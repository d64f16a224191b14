// A whole application in a process of its own, on the built package (dist/esm/): evaluates the flags of the
// distinct ids given, closes the app, prints what it saw as JSON, and must then exit by itself, which it
// only does when app.close() left no connection or timer open. What is still open right after app.close()
// (timers, sockets, connection attempts) beyond what was open before the app started is printed as `leftover`.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FlagsModule, FlagsService } from '../../dist/esm/index.js';

/**
 * Open handles, requests and timers by type; left out: stdio (its pipes open when first written to) and
 * immediates (callbacks already queued to run, such as a TLS socket's teardown, not timers).
 */
const openResources = () =>
  process.getActiveResourcesInfo().filter((type) => !/^(PipeWrap|TTYWrap|Immediate)$/.test(type));
const before = openResources();

const logs = [];
const keep = (level) => (message) => logs.push({ level, message: String(message) });
const logger = {
  log: keep('log'),
  warn: keep('warn'),
  error: keep('error'),
  fatal: keep('fatal'),
  debug() {},
  verbose() {},
};

const app = await NestFactory.createApplicationContext(FlagsModule.forRoot(), { logger });
const flags = app.get(FlagsService);
// With local evaluation, the first definitions are awaited, so that the close never races the first poll.
if (process.env.POSTHOG_SECRET_KEY && flags.status().definitions.source === 'none') {
  await new Promise((resolve) => {
    const subscription = flags.events$.subscribe((event) => {
      if (event.type !== 'definitions_loaded') return;
      subscription.unsubscribe();
      resolve();
    });
  });
}
const results = {};
for (const distinctId of process.argv.slice(2)) {
  results[distinctId] = Object.fromEntries(
    [...(await flags.getFlagResults(distinctId)).values()].map((result) => [result.key, result.source]),
  );
}
await app.close();
const leftover = openResources();
for (const type of before) {
  const at = leftover.indexOf(type);
  if (at >= 0) leftover.splice(at, 1);
}
process.stdout.write(JSON.stringify({ results, logs, leftover }));
