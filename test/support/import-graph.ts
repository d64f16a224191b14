import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import ts from 'typescript';

/** One import of one file: what it names, and the file it names when that is a relative path. */
export interface SourceImport {
  /** The importing file, relative to the root (`cache/flag-cache.ts`). */
  from: string;
  /** The specifier as written (`./definitions-home.js`, `@nestjs/common`). */
  specifier: string;
  /** The imported file, relative to the root, for a relative specifier. */
  to?: string;
}

/** Every `.ts` file under `root`, relative to it, with `/` separators. */
export function sourceFiles(root: string): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) files.push(relative(root, path).split(sep).join('/'));
    }
  };
  walk(root);
  return files.sort();
}

/**
 * The imports of `file` (under `root`), as TypeScript's own scanner reads them: `import` and `export … from`
 * (type-only ones included: a folder that needs another's types depends on it), `import()` and `require()`.
 * With `resolve`, a relative specifier is resolved to its `.ts` file (`./x.js` is `./x.ts`, a folder its
 * `index.ts`), and one that names no such file throws.
 */
export function importsOf(root: string, file: string, resolve = true): SourceImport[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
  return importedFiles.map(({ fileName: specifier }) => {
    if (!resolve || !specifier.startsWith('.')) return { from: file, specifier };
    const path = join(dirname(file), specifier).split(sep).join('/');
    const candidates = [path.replace(/\.js$/, '.ts'), `${path}.ts`, `${path}/index.ts`];
    const to = candidates.find((candidate) => existsSync(join(root, candidate)));
    if (to === undefined) throw new Error(`${file}: cannot resolve the import of ${specifier}`);
    return { from: file, specifier, to };
  });
}

/**
 * The folder a file belongs to: the first directory under the root (`cache`), except under `local/`, whose
 * sub-folders (`local/engine`, `local/polling`, `local/sharing`) count as folders of their own. A file at the root
 * (`flags.service.ts`) is a node of its own.
 */
export function folderOf(file: string): string {
  const parts = file.split('/');
  if (parts.length === 1) return file;
  if (parts[0] === 'local' && parts.length > 2) return `local/${parts[1]}`;
  return parts[0]!;
}

/** A dependency graph: each node's successors, with the imports that make each edge. */
export type Graph = Map<string, Map<string, SourceImport[]>>;

/** The graph of `imports` whose nodes are `nodeOf` their files (an import within one node is no edge). */
export function graphOf(imports: readonly SourceImport[], nodeOf: (file: string) => string): Graph {
  const graph: Graph = new Map();
  for (const anImport of imports) {
    if (anImport.to === undefined) continue;
    const from = nodeOf(anImport.from);
    const to = nodeOf(anImport.to);
    if (from === to) continue;
    if (!graph.has(from)) graph.set(from, new Map());
    const edges = graph.get(from)!;
    edges.set(to, [...(edges.get(to) ?? []), anImport]);
  }
  return graph;
}

/**
 * One cycle through each group of nodes that reach one another (Tarjan's strongly connected components, then the
 * shortest path back to the group's first node), as the nodes in order, the first repeated at the end.
 */
export function cyclesOf(graph: Graph): string[][] {
  const successors = (node: string): string[] => [...(graph.get(node)?.keys() ?? [])].sort();
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of successors(node)) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) !== index.get(node)) return;
    const group: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      group.push(member);
    } while (member !== node);
    if (group.length > 1) groups.push(group.sort());
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return groups.map((group) => shortestCycle(group[0]!, new Set(group), successors));
}

/** The shortest path from `start` back to it within `group` (breadth first). */
function shortestCycle(start: string, group: ReadonlySet<string>, successors: (node: string) => string[]): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const next of successors(node)) {
      if (!group.has(next)) continue;
      if (next === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(previous.get(path[0]!)!);
        return [...path, start];
      }
      if (previous.has(next)) continue;
      previous.set(next, node);
      queue.push(next);
    }
  }
  return [start];
}

/** A cycle, with the imports that make each of its edges (three at most per edge): what a failure says. */
export function describeCycle(graph: Graph, cycle: readonly string[]): string {
  const lines = [cycle.join(' -> ')];
  for (let step = 0; step < cycle.length - 1; step++) {
    const imports = graph.get(cycle[step]!)!.get(cycle[step + 1]!)!;
    for (const { from, to } of imports.slice(0, 3)) lines.push(`  ${from} imports ${to}`);
    if (imports.length > 3) lines.push(`  and ${imports.length - 3} more from ${cycle[step]} to ${cycle[step + 1]}`);
  }
  return lines.join('\n');
}
