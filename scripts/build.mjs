// Builds the package from src/: ES modules in dist/esm, CommonJS in dist/cjs, each with its declarations, and
// keeps package.json's `exports`, `main`, `types` and `typesVersions` in step with the entry points below.
// Adding an entry point (`nestjs-posthog-flags/<name>`, from src/<name>/index.ts) is one line in SUBPATHS.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The subpaths besides the root, each built from `src/<name>/index.ts`. */
const SUBPATHS = ['health', 'testing', 'openfeature'];

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build-cjs.json'], { stdio: 'inherit' });
// dist/cjs lies inside a `"type": "module"` package: its own package.json makes its .js files CommonJS.
writeFileSync('dist/cjs/package.json', `${JSON.stringify({ type: 'commonjs' })}\n`);
syncPackageJson();

/**
 * One entry point's conditions. `module-sync` comes first: Node (≥ 20.19, which can `require()` ES modules) loads
 * the ES build for `import` and `require` alike, so an application holds one copy of every class however it loads
 * the package. Tools that cannot (jest's CommonJS runtime, older bundlers) take `require`: the CommonJS build.
 */
function conditions(dir) {
  return {
    'module-sync': { types: `./dist/esm/${dir}index.d.ts`, default: `./dist/esm/${dir}index.js` },
    import: { types: `./dist/esm/${dir}index.d.ts`, default: `./dist/esm/${dir}index.js` },
    require: { types: `./dist/cjs/${dir}index.d.ts`, default: `./dist/cjs/${dir}index.js` },
  };
}

/** Writes package.json's entry-point fields from SUBPATHS, only when they changed. */
function syncPackageJson() {
  const text = readFileSync('package.json', 'utf8');
  const pkg = JSON.parse(text);
  pkg.main = './dist/cjs/index.js';
  pkg.types = './dist/cjs/index.d.ts';
  pkg.exports = {
    '.': conditions(''),
    ...Object.fromEntries(SUBPATHS.map((name) => [`./${name}`, conditions(`${name}/`)])),
    './package.json': './package.json',
  };
  // For TypeScript's `moduleResolution: node10`, which reads no `exports`.
  pkg.typesVersions = { '*': Object.fromEntries(SUBPATHS.map((name) => [name, [`./dist/cjs/${name}/index.d.ts`]])) };
  const updated = `${JSON.stringify(pkg, null, 2)}\n`;
  if (updated !== text) writeFileSync('package.json', updated);
}
