import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { FakePostHog } from './support/fake-posthog.js';
import { TEST_API_KEY } from './support/flags-app.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Inside the repository, so that `nestjs-posthog-flags` resolves to the build (`npm test` builds first). */
const WORK = join(ROOT, '.build', 'readme-quick-start');

/** Starts the quick start's `AppModule`, asks `/checkout` as three users, closes; prints the answers as JSON. */
const RUNNER = `
import { NestFactory } from '@nestjs/core';

const app = await NestFactory.create(AppModule, { logger: false });
await app.listen(0, '127.0.0.1');
const base = 'http://127.0.0.1:' + app.getHttpServer().address().port;
const answers = {};
for (const [who, headers] of [['alice', { 'x-user-id': 'alice' }], ['bob', { 'x-user-id': 'bob' }], ['nobody', {}]]) {
  const response = await fetch(base + '/checkout', { headers });
  answers[who] = { status: response.status, body: response.status === 200 ? await response.json() : undefined };
}
await app.close();
process.stdout.write(JSON.stringify(answers));
`;

describe("the README's quick start", () => {
  let fake: FakePostHog;

  beforeAll(async () => {
    fake = await FakePostHog.start();
    fake.setFlags({ 'new-checkout': { enabled: false } });
    fake.setFlags({ 'new-checkout': { enabled: true, variant: 'test', payload: { discount: 10 } } }, 'alice');
  });

  afterAll(async () => {
    await fake.stop();
    rmSync(WORK, { recursive: true, force: true });
  });

  it('runs as pasted: the stand-in guard, the flag guard, @Flags() and the service', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const quickStart = readme.slice(readme.indexOf('## Quick start'));
    const code = /^```ts\n([\s\S]*?)^```$/m.exec(quickStart)![1]!;
    const { outputText } = ts.transpileModule(code, {
      compilerOptions: {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
      },
    });
    mkdirSync(WORK, { recursive: true });
    const main = join(WORK, 'main.mjs');
    writeFileSync(main, `${outputText}\n${RUNNER}`);

    const { stdout } = await promisify(execFile)(process.execPath, [main], {
      env: { ...process.env, POSTHOG_API_KEY: TEST_API_KEY, POSTHOG_HOST: fake.url },
      timeout: 30_000,
    });
    expect(JSON.parse(stdout)).toEqual({
      alice: { status: 200, body: { variant: 'test', discount: 10 } },
      bob: { status: 404 },
      nobody: { status: 403 },
    });
  });
});
