import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./flags-child.mjs', import.meta.url));

/** What the child application printed. */
export interface ChildOutcome {
  results: Record<string, Record<string, string>>;
  logs: { level: string; message: string }[];
}

/**
 * Runs `flags-child.mjs` with `env` added to this process's environment and waits for it to exit by itself;
 * rejects if it has not within `limitMs` (something was left open) or if it failed.
 */
export function runChild(env: Record<string, string>, distinctIds: string[], limitMs = 10_000): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...distinctIds], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the application did not exit within ${limitMs} ms after app.close():\n${stdout}\n${stderr}`));
    }, limitMs);
    child.once('exit', (code) => {
      clearTimeout(guard);
      if (code === 0) resolve(JSON.parse(stdout));
      else reject(new Error(`the application failed (exit ${code}):\n${stderr}`));
    });
  });
}
