import { describe, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import {
  cyclesOf,
  describeCycle,
  folderOf,
  graphOf,
  importsOf,
  sourceFiles,
  type SourceImport,
} from '../support/import-graph.js';

/** The repository's root, and the library's sources. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SRC = `${ROOT}src`;

/** The imports of the library's shipped files (specs left out: a spec may wire any parts together). */
const shipped: SourceImport[] = sourceFiles(SRC)
  .filter((file) => !file.endsWith('.spec.ts'))
  .flatMap((file) => importsOf(SRC, file));

/** Every import in the library, its specs and the test and bench support, for the rule on Nest's paths. */
function everyImport(): SourceImport[] {
  return ['src', 'test', 'bench'].flatMap((dir) =>
    sourceFiles(`${ROOT}${dir}`).flatMap((file) =>
      importsOf(`${ROOT}${dir}`, file, false).map((i) => ({ ...i, from: `${dir}/${file}` })),
    ),
  );
}

describe('the import graph of src/', () => {
  it('has no cycle between folders (local/engine, local/polling and local/sharing count as folders)', () => {
    const graph = graphOf(shipped, folderOf);
    expect(cyclesOf(graph).map((cycle) => describeCycle(graph, cycle))).toEqual([]);
  });

  it('has no cycle between files', () => {
    const graph = graphOf(shipped, (file) => file);
    expect(cyclesOf(graph).map((cycle) => describeCycle(graph, cycle))).toEqual([]);
  });

  it("imports Nest's packages by their root only, never a path inside one (not their public API)", () => {
    const deep = everyImport()
      .filter(({ specifier }) => /^@nestjs\/[^/]+\/./.test(specifier))
      .map(({ from, specifier }) => `${from} imports ${specifier}`);
    expect(deep).toEqual([]);
  });
});

describe('the cycle finder', () => {
  const edge = (from: string, to: string): SourceImport => ({ from, specifier: `./${to}`, to });

  it('names a cycle between folders, with the imports that make it', () => {
    const imports = [
      edge('cache/flag-cache.ts', 'local/sharing/definitions-store.ts'),
      edge('local/sharing/redis-store.ts', 'cache/redis-connection.ts'),
      edge('local/polling/poller.ts', 'local/sharing/definitions-store.ts'),
      edge('local/engine/rollout.ts', 'local/definitions.ts'),
    ];
    const graph = graphOf(imports, folderOf);
    const cycles = cyclesOf(graph);
    expect(cycles).toEqual([['cache', 'local/sharing', 'cache']]);
    expect(describeCycle(graph, cycles[0]!)).toBe(
      'cache -> local/sharing -> cache\n' +
        '  cache/flag-cache.ts imports local/sharing/definitions-store.ts\n' +
        '  local/sharing/redis-store.ts imports cache/redis-connection.ts',
    );
  });

  it('finds the shortest cycle of a longer loop, and none in a graph that only goes down', () => {
    const loop = graphOf([edge('a/x.ts', 'b/x.ts'), edge('b/x.ts', 'c/x.ts'), edge('c/x.ts', 'a/x.ts')], folderOf);
    expect(cyclesOf(loop)).toEqual([['a', 'b', 'c', 'a']]);
    const down = graphOf([edge('a/x.ts', 'b/x.ts'), edge('b/x.ts', 'c/x.ts'), edge('a/x.ts', 'c/x.ts')], folderOf);
    expect(cyclesOf(down)).toEqual([]);
  });

  it('says how many more imports make an edge than it lists', () => {
    const imports = [1, 2, 3, 4, 5].map((n) => edge(`a/x${n}.ts`, 'b/x.ts'));
    const graph = graphOf([...imports, edge('b/x.ts', 'a/x1.ts')], folderOf);
    expect(describeCycle(graph, ['a', 'b', 'a']).split('\n')).toEqual([
      'a -> b -> a',
      '  a/x1.ts imports b/x.ts',
      '  a/x2.ts imports b/x.ts',
      '  a/x3.ts imports b/x.ts',
      '  and 2 more from a to b',
      '  b/x.ts imports a/x1.ts',
    ]);
  });

  it('reads type-only imports, re-exports and dynamic imports as TypeScript does', () => {
    const targets = (file: string) => importsOf(SRC, file).map(({ to }) => to);
    expect(targets('cache/flag-cache.ts')).toContain('cache/definitions-home.ts');
    expect(targets('index.ts')).toContain('options/exception-option.ts');
    expect(targets('cache/create-flag-cache.ts')).toContain('cache/redis-flag-cache.ts');
  });
});
