/**
 * The benchmark's app in a process of its own (so that the load generator does not share its CPU): started by
 * `run.ts` with its settings as JSON in argv, it reports its URL over IPC and closes when told.
 */
import 'reflect-metadata';
import { startBenchApp, type BenchAppOptions } from './contenders.js';

const options = JSON.parse(process.argv[2]) as BenchAppOptions;
const app = await startBenchApp(options);
process.send!({ url: app.url });
process.once('message', async () => {
  await app.close();
  process.disconnect();
});
