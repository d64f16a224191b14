/**
 * The benchmark's app in a process of its own (so that the load generator does not share its CPU): started by
 * `app-process.ts` with its settings as JSON in argv, it reports its URL over IPC, answers `'cpu'` with the CPU time it
 * has used (user + system, µs), `'guards'` with the time spent in the timed guards, `'flush'` once posthog-node's
 * queued events are sent and `'definitions'` once our module has flag definitions loaded, and closes when told
 * `'close'`.
 */
import 'reflect-metadata';
import { startBenchApp, timeGuards, type BenchAppOptions } from './contenders.js';

const options = JSON.parse(process.argv[2]) as BenchAppOptions;
timeGuards();
const app = await startBenchApp(options);
process.send!({ url: app.url });
process.on('message', (message) => void answer(message));

/** Answers a message of the bench runner. */
async function answer(message: unknown): Promise<void> {
  if (message === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.send!({ cpuMicros: user + system });
    return;
  }
  if (message === 'guards') {
    process.send!({ guards: app.guardTimes() });
    return;
  }
  if (message === 'definitions') {
    await app.definitionsLoaded();
    process.send!({ loaded: true });
    return;
  }
  if (message === 'flush') {
    await app.flushEvents();
    process.send!({ flushed: true });
    return;
  }
  await app.close();
  process.disconnect();
}
