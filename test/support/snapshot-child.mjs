// An application in a process of its own, on the built package (dist/), for tests that kill it as a crash would:
// started with the JSON options of CHILD_OPTIONS, it waits for the flag definitions, evaluates every flag of the
// distinct ids given, prints "evaluated", then runs until killed.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FlagsModule, FlagsService } from '../../dist/esm/index.js';

const app = await NestFactory.createApplicationContext(FlagsModule.forRoot(JSON.parse(process.env.CHILD_OPTIONS)), {
  logger: false,
});
const flags = app.get(FlagsService);
await flags.waitForLocalEvaluationReady(10_000);
for (const distinctId of process.argv.slice(2)) await flags.getFlagResults(distinctId);
process.stdout.write('evaluated\n');
