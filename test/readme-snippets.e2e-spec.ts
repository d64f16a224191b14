import { describe, expect, it } from '@jest/globals';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Inside the repository (so that its node_modules resolve), in the ignored build folder. */
const WORK = join(ROOT, '.build', 'readme-snippets');

/** The documents whose snippets are compiled: the README and every page of `docs/`. */
const DOCUMENTS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** Every ```ts block of the documents, numbered from 1 in reading order, with the file and line it starts on. */
function snippets(): { name: string; document: string; line: number; code: string }[] {
  return DOCUMENTS.flatMap((document) => {
    const text = readFileSync(join(ROOT, document), 'utf8');
    return [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match, index) => ({
      name: `${document.replace(/\W/g, '-')}-${index + 1}.ts`,
      document,
      line: text.slice(0, match.index).split('\n').length + 1,
      code: match[1]!,
    }));
  });
}

/** Each entry point of the package (`nestjs-posthog-flags`, `nestjs-posthog-flags/health`, …) to its ESM declarations. */
function entryPointDeclarations(): Record<string, string[]> {
  const { exports } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    exports: Record<string, string | { import: { types: string } }>;
  };
  return Object.fromEntries(
    Object.entries(exports).flatMap(([subpath, target]) =>
      typeof target === 'string' ? [] : [[join('nestjs-posthog-flags', subpath), [join(ROOT, target.import.types)]]],
    ),
  );
}

describe('the README and docs/', () => {
  it('keep the README short, linking every page of docs/', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme.split('\n').length).toBeLessThanOrEqual(450);
    const pages = DOCUMENTS.filter((document) => document.startsWith('docs/'));
    expect(pages.filter((page) => !readme.includes(`](${page}`))).toEqual([]);
    expect(readme).toContain('npm run demo');
    expect(readme).toContain('npm test');
  });

  it("name every option of FlagsModuleOptions in docs/configuration.md's table, and every entry point", () => {
    const source = ts.createSourceFile(
      'flags-options.ts',
      readFileSync(join(ROOT, 'src/options/flags-options.ts'), 'utf8'),
      ts.ScriptTarget.ES2022,
    );
    const options = source.statements
      .filter(ts.isInterfaceDeclaration)
      .find((declaration) => declaration.name.text === 'FlagsModuleOptions')!
      .members.map((member) => (member.name as ts.Identifier).text);
    expect(options.length).toBeGreaterThan(10);
    const configuration = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');
    expect(options.filter((option) => !configuration.includes(`| \`${option}\` |`))).toEqual([]);

    const compatibility = readFileSync(join(ROOT, 'docs/compatibility.md'), 'utf8');
    const entryPoints = Object.keys(entryPointDeclarations()).map((name) =>
      name === 'nestjs-posthog-flags' ? name : name.slice('nestjs-posthog-flags'.length),
    );
    expect(entryPoints).toContain('/openfeature');
    expect(entryPoints.filter((name) => !compatibility.includes(`\`${name}\``))).toEqual([]);
  });

  it('have a quick start that runs as pasted: it declares nothing it leaves undefined, and stands in for auth', () => {
    const quickStart = snippets().find((snippet) => snippet.document === 'README.md');
    expect(quickStart?.code).toContain('AppModule');
    expect(quickStart?.code).not.toMatch(/^\s*declare /m);
    expect(quickStart?.code).toMatch(/STAND-IN for your authentication/);
  });

  it('have TypeScript snippets that compile as written, under strict and noUncheckedIndexedAccess', () => {
    const found = snippets();
    expect(found.length).toBeGreaterThanOrEqual(6);
    rmSync(WORK, { recursive: true, force: true });
    mkdirSync(WORK, { recursive: true });
    for (const snippet of found) writeFileSync(join(WORK, snippet.name), snippet.code);

    const program = ts.createProgram(
      found.map((snippet) => join(WORK, snippet.name)),
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
        paths: entryPointDeclarations(),
      },
    );
    const problems = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
      const file = diagnostic.file?.fileName.split('/').pop() ?? '';
      const snippet = found.find((candidate) => candidate.name === file);
      const at =
        diagnostic.file && diagnostic.start !== undefined
          ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line
          : 0;
      const where = snippet ? `${snippet.document}:${snippet.line + at}` : file;
      return `${where}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
    });
    expect(problems).toEqual([]);
  });
});
