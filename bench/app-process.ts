/** The benchmark app in its child process (`server.ts`), and how `run.ts` talks to it over IPC. */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchApp, BenchAppOptions, GuardTimes } from './contenders.js';

const SERVER = fileURLToPath(new URL('./server.js', import.meta.url));

/** The benchmark app in its child process, which can also tell the CPU time it has used. */
export interface BenchServer extends Omit<BenchApp, 'guardTimes'> {
  /** The app process's CPU time so far (user + system), in µs. */
  cpuMicros(): Promise<number>;
  /** The time spent in our guard and the same-denials reference so far, by route (see `GuardTimes`). */
  guardTimes(): Promise<GuardTimes>;
}

/** Starts the benchmark app in a child process (see `server.ts`). */
export function startServer(options: BenchAppOptions): Promise<BenchServer> {
  const child = fork(SERVER, [JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  /** Sends `message` and resolves with the child's reply. */
  const ask = <T>(message: string) =>
    new Promise<T>((answered) => {
      child.once('message', (reply) => answered(reply as T));
      child.send(message);
    });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the benchmark app exited (${code}) before it was ready`)));
    child.once('message', (message) => {
      child.removeAllListeners('exit');
      resolve({
        url: (message as { url: string }).url,
        cpuMicros: async () => (await ask<{ cpuMicros: number }>('cpu')).cpuMicros,
        guardTimes: async () => (await ask<{ guards: GuardTimes }>('guards')).guards,
        flushEvents: async () => void (await ask('flush')),
        definitionsLoaded: async () => void (await ask('definitions')),
        close: () =>
          new Promise<void>((closed) => {
            child.once('exit', () => closed());
            child.send('close');
          }),
      });
    });
  });
}
