// A module instance in a process of its own, on the built package (dist/), for tests that kill it as a crash would:
// started with the JSON options of CHILD_OPTIONS, it prints "poller" once it holds the poller lock, then runs until
// killed.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FlagsModule, FlagsService } from '../../dist/esm/index.js';

const app = await NestFactory.createApplicationContext(FlagsModule.forRoot(JSON.parse(process.env.CHILD_OPTIONS)), {
  logger: false,
});
const flags = app.get(FlagsService);
const waiting = setInterval(() => {
  if (!flags.status().definitions.poller) return;
  clearInterval(waiting);
  process.stdout.write('poller\n');
}, 20);
