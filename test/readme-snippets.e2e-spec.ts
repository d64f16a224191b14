import { describe, expect, it } from '@jest/globals';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Inside the repository (so that its node_modules resolve), in the ignored build folder. */
const WORK = join(ROOT, '.build', 'readme-snippets');

/** Every ```ts block of the README, numbered from 1 in reading order, with the line it starts on. */
function readmeSnippets(): { name: string; line: number; code: string }[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  return [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match, index) => ({
    name: `snippet-${index + 1}.ts`,
    line: readme.slice(0, match.index).split('\n').length + 1,
    code: match[1]!,
  }));
}

describe('the README', () => {
  it('has TypeScript snippets that compile as written, under strict and noUncheckedIndexedAccess', () => {
    const snippets = readmeSnippets();
    expect(snippets.length).toBeGreaterThanOrEqual(6);
    rmSync(WORK, { recursive: true, force: true });
    mkdirSync(WORK, { recursive: true });
    for (const snippet of snippets) writeFileSync(join(WORK, snippet.name), snippet.code);

    const program = ts.createProgram(
      snippets.map((snippet) => join(WORK, snippet.name)),
      {
        strict: true,
        noUncheckedIndexedAccess: true,
        noEmit: true,
        skipLibCheck: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
        types: ['node'],
        // The package as a user imports it: its built declarations (`npm test` builds first).
        paths: {
          'nestjs-posthog-flags': [join(ROOT, 'dist/index.d.ts')],
          'nestjs-posthog-flags/health': [join(ROOT, 'dist/health/index.d.ts')],
          'nestjs-posthog-flags/testing': [join(ROOT, 'dist/testing/index.d.ts')],
        },
      },
    );
    const problems = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
      const file = diagnostic.file?.fileName.split('/').pop() ?? '';
      const snippet = snippets.find((candidate) => candidate.name === file);
      const at =
        diagnostic.file && diagnostic.start !== undefined
          ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line
          : 0;
      const where = snippet ? `README.md:${snippet.line + at}` : file;
      return `${where}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
    });
    expect(problems).toEqual([]);
  });
});
