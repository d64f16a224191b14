// Builds the package from src/: ES modules in dist/esm, CommonJS in dist/cjs, each with its declarations. First it
// checks that package.json's `main`, `types`, `exports` and `typesVersions` are those of the entry points below, and
// stops the build when they are not: it never changes package.json unless asked.
// Adding an entry point (`nestjs-posthog-flags/<name>`, from src/<name>/index.ts) is one line in SUBPATHS, then
// `node scripts/build.mjs --write-package-json`.
//
//   node scripts/build.mjs                        check package.json, then build
//   node scripts/build.mjs --write-package-json   write those fields into package.json, then build
//   node scripts/build.mjs --check-package-json   only the package.json step (the check, or with the flag above
//                                                 the write), no build
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The subpaths besides the root, each built from `src/<name>/index.ts`. */
const SUBPATHS = ['health', 'testing', 'openfeature'];

const WRITE = process.argv.includes('--write-package-json');
const PACKAGE_JSON_ONLY = process.argv.includes('--check-package-json');

if (WRITE) writePackageJson();
else checkPackageJson();
if (!PACKAGE_JSON_ONLY) build();

function build() {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  rmSync('dist', { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build-cjs.json'], { stdio: 'inherit' });
  // dist/cjs lies inside a `"type": "module"` package: its own package.json makes its .js files CommonJS.
  writeFileSync('dist/cjs/package.json', `${JSON.stringify({ type: 'commonjs' })}\n`);
}

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

/** package.json's entry-point fields as SUBPATHS makes them, in package.json's order. */
function entryPointFields() {
  return {
    main: './dist/cjs/index.js',
    types: './dist/cjs/index.d.ts',
    exports: {
      '.': conditions(''),
      ...Object.fromEntries(SUBPATHS.map((name) => [`./${name}`, conditions(`${name}/`)])),
      './package.json': './package.json',
    },
    // For TypeScript's `moduleResolution: node10`, which reads no `exports`.
    typesVersions: { '*': Object.fromEntries(SUBPATHS.map((name) => [name, [`./dist/cjs/${name}/index.d.ts`]])) },
  };
}

/** Stops (exit code 1) naming the entry-point fields of package.json that differ from SUBPATHS'; changes nothing. */
function checkPackageJson() {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
  const differing = Object.entries(entryPointFields())
    .filter(([field, value]) => JSON.stringify(pkg[field]) !== JSON.stringify(value))
    .map(([field]) => field);
  if (differing.length === 0) return;
  console.error(
    `package.json: ${differing.join(', ')} ${differing.length === 1 ? 'differs' : 'differ'} from the entry points ` +
      'in scripts/build.mjs (SUBPATHS). Run `node scripts/build.mjs --write-package-json` to write them ' +
      '(after adding an entry point to SUBPATHS), or undo the edit to package.json.',
  );
  process.exit(1);
}

/** Writes package.json's entry-point fields from SUBPATHS, only when they changed. */
function writePackageJson() {
  const text = readFileSync('package.json', 'utf8');
  const updated = `${JSON.stringify({ ...JSON.parse(text), ...entryPointFields() }, null, 2)}\n`;
  if (updated !== text) writeFileSync('package.json', updated);
}
