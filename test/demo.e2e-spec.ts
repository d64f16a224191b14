import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('npm run demo', () => {
  it('walks through live, outage, fallback and recovery', async () => {
    const { stdout } = await promisify(execFile)('npm', ['run', 'demo'], { cwd: ROOT, timeout: 60_000 });
    expect(stdout).toMatch(/GET \/checkout\/alice\s+→ test\s+from remote/);
    expect(stdout).toMatch(/GET \/checkout\/alice\s+→ test\s+from fallback/);
    expect(stdout).toMatch(/GET \/checkout\/carol\s+→ classic\s+from unknown/);
    expect(stdout).toContain('PostHog was called 0 times for these');
    expect(stdout).toMatch(/GET \/checkout\/bob\s+→ control\s+from remote/);
    expect(stdout).toContain('status: upstream ok, circuit closed');
  }, 90_000);
});
