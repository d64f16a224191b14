import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./flags-child.mjs', import.meta.url));

/** What the child application printed. */
export interface ChildOutcome {
  results: Record<string, Record<string, string>>;
  logs: { level: string; message: string }[];
  /** What was still open right after `app.close()` resolved (timers, sockets) that was not before the app. */
  leftover: string[];
}

/**
 * Runs `flags-child.mjs` with `env` added to this process's environment and waits for it to exit by itself;
 * rejects if it has not within `limitMs` (something was left open), if it failed, or if anything (a timer, a
 * socket) was still open right after `app.close()` resolved.
 */
export async function runChild(
  env: Record<string, string>,
  distinctIds: string[],
  limitMs = 10_000,
): Promise<ChildOutcome> {
  const outcome = JSON.parse(await runScript(CHILD, env, distinctIds, limitMs)) as ChildOutcome;
  if (outcome.leftover.length > 0) {
    throw new Error(`app.close() resolved with ${outcome.leftover.join(', ')} still open`);
  }
  return outcome;
}

/**
 * Runs a Node script (plain Node, not jest) with `env` added to this process's environment and `args`, and resolves
 * with what it printed once it has exited by itself; rejects if it has not within `limitMs` or if it failed.
 */
export function runScript(
  script: string,
  env: Record<string, string>,
  args: string[] = [],
  limitMs = 10_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not exit within ${limitMs} ms:\n${stdout}\n${stderr}`));
    }, limitMs);
    child.once('exit', (code) => {
      clearTimeout(guard);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${script} failed (exit ${code}):\n${stderr}`));
    });
  });
}
