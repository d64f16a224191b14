// ESLint (flat config): typescript-eslint's type-checked recommended rules on the TypeScript sources, with types
// from the nearest tsconfig.json (the project service); plain JavaScript gets the rules that need no types.
// Formatting is Prettier's (eslint-config-prettier).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', '.build/', 'coverage/', 'node_modules/'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  prettier,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // The evaluator throws its own `Inconclusive` (src/local/inconclusive.ts), on purpose no `Error`: no stack
      // trace to build for a user missing a property, an everyday case on the request path. It never escapes.
      '@typescript-eslint/only-throw-error': ['error', { allow: [{ from: 'file', name: 'Inconclusive' }] }],
      // Off: nearly all its findings are `!` on indexed reads (`parts[0]!`), needless only because
      // `noUncheckedIndexedAccess` is off; they state that the index is in range. Worth turning on with that option.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  {
    // addons-test.ts is a spec too: the package test runs it as `src/addons.spec.ts` of a generated application.
    files: ['**/*.spec.ts', '**/*.e2e-spec.ts', 'test/package-apps/addons-test.ts'],
    rules: {
      // `expect(mock.method)` hands jest the method unbound on purpose: it inspects the mock, never calls it.
      '@typescript-eslint/unbound-method': 'off',
      // Test doubles implement async interfaces with `async` methods that have nothing to await.
      '@typescript-eslint/require-await': 'off',
      // Specs read `any` from upstream types (supertest's `res.body`, Nest's `getHttpServer()`) and parsed JSON
      // straight into `expect`, whose matchers check the shape at run time; typing each read adds no safety.
      // The shared helpers in test/support/ keep these rules.
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
