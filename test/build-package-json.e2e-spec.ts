import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUILD = join(ROOT, 'scripts/build.mjs');
const COMMITTED = readFileSync(join(ROOT, 'package.json'), 'utf8');

/** Runs scripts/build.mjs in `cwd`: its exit code and what it printed on stderr. */
function build(cwd: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BUILD, ...args], { cwd, timeout: 30_000 }, (error, _stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stderr }),
    );
  });
}

/** The committed package.json with one subpath's `typesVersions` entry pointing elsewhere. */
function drifted(): string {
  const pkg = JSON.parse(COMMITTED) as { typesVersions: Record<string, Record<string, string[]>> };
  pkg.typesVersions['*']!['health'] = ['./dist/esm/health/index.d.ts'];
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

describe("scripts/build.mjs and package.json's entry points (run on a copy in a temporary directory)", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'build-package-json-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes the committed package.json', async () => {
    writeFileSync(join(dir, 'package.json'), COMMITTED);
    expect(await build(dir, ['--check-package-json'])).toEqual({ code: 0, stderr: '' });
    expect(readFileSync(join(dir, 'package.json'), 'utf8')).toBe(COMMITTED);
  });

  it('fails a drifted package.json, naming the field and the fix, without changing it', async () => {
    writeFileSync(join(dir, 'package.json'), drifted());
    const { code, stderr } = await build(dir, ['--check-package-json']);
    expect(code).toBe(1);
    expect(stderr).toContain('package.json: typesVersions differs from the entry points');
    expect(stderr).toContain('node scripts/build.mjs --write-package-json');
    expect(readFileSync(join(dir, 'package.json'), 'utf8')).toBe(drifted());
  });

  it('stops a plain build before it starts (dist is left as it was)', async () => {
    writeFileSync(join(dir, 'package.json'), drifted());
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist/kept'), '');
    const { code, stderr } = await build(dir, []);
    expect(code).toBe(1);
    expect(stderr).toContain('package.json: typesVersions differs');
    expect(existsSync(join(dir, 'dist/kept'))).toBe(true);
    expect(readFileSync(join(dir, 'package.json'), 'utf8')).toBe(drifted());
  });

  it('writes the committed fields back with --write-package-json', async () => {
    writeFileSync(join(dir, 'package.json'), drifted());
    expect(await build(dir, ['--write-package-json', '--check-package-json'])).toEqual({ code: 0, stderr: '' });
    expect(readFileSync(join(dir, 'package.json'), 'utf8')).toBe(COMMITTED);
  });
});
