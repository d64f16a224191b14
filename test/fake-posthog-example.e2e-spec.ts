// Runs the FakePostHog example of docs/testing.md as written, on the sources: its hooks and its test become this
// file's (the package test runs it again, unchanged, in a Nest 11 CommonJS application).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { docsExample } from './support/docs-example.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Inside the repository (so that its node_modules resolve), in the ignored build folder. */
const WORK = join(ROOT, '.build', 'docs-example');

const onSources = docsExample('docs/testing.md', 'FakePostHog.start()', "it('")
  .replace("from 'nestjs-posthog-flags/testing'", `from '${join(ROOT, 'src/testing/index.ts')}'`)
  .replace("from 'nestjs-posthog-flags'", `from '${join(ROOT, 'src/index.ts')}'`);
mkdirSync(WORK, { recursive: true });
writeFileSync(join(WORK, 'flags.e2e-example.ts'), onSources);
await import(join(WORK, 'flags.e2e-example.ts'));
