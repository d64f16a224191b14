import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FakePostHog } from '../src/testing/index.js';
import { startStandardPostHog } from './support/fake-posthog.js';
import { docsExample } from './support/docs-example.js';
import { TEST_API_KEY } from './support/flags-app.js';
import { RedisServer } from './support/redis-server.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const APPS = fileURLToPath(new URL('./package-apps/', import.meta.url));

/**
 * The TypeScript compilers the package is type-checked with: the floor for CommonJS apps (5.8, which is also the
 * last to take `moduleResolution: node10` without a deprecation error), and ours.
 */
const TSC = {
  '5.8': join(ROOT, 'node_modules/typescript-5.8/bin/tsc'),
  current: join(ROOT, 'node_modules/typescript/bin/tsc'),
};

/**
 * The two generations users run: Nest 11 on CommonJS, Nest 12 on ESM; each with an ioredis of its time, and the
 * TypeScript settings (the README's floor) under which `consumer.ts` must compile against the tarball.
 */
const FLAVOURS = [
  {
    name: 'Nest 11, CommonJS, ioredis 5',
    nest: '^11.0.0',
    major: '11',
    ioredis: '^5.0.0',
    type: 'commonjs',
    entry: 'app.cjs',
    /** The OpenFeature Nest SDK (its 0.2.5 declares Nest up to 11) on both HTTP platforms. */
    extraDependencies: {
      '@openfeature/nestjs-sdk': '0.2.5',
      // GraphQL (Apollo on Express 5) and socket.io, for transports-app.cjs.
      '@nestjs/graphql': '^13.0.0',
      '@nestjs/apollo': '^13.0.0',
      '@apollo/server': '^5.0.0',
      '@as-integrations/express5': '^1.0.0',
      graphql: '^16.0.0',
      '@nestjs/websockets': '^11.0.0',
      '@nestjs/platform-socket.io': '^11.0.0',
      'socket.io-client': '^4.0.0',
    } as Record<string, string>,
    /** `@nestjs/config`, `@nestjs/terminus` and `@nestjs/platform-fastify`, installed by the README's command. */
    addOnsFromReadme: true,
    files: ['openfeature-app.cjs', 'transports-app.cjs'],
    typeChecks: [
      { tsc: TSC['5.8'], module: 'nodenext', moduleResolution: 'nodenext' },
      { tsc: TSC['5.8'], module: 'node16', moduleResolution: 'node16' },
      { tsc: TSC['5.8'], module: 'commonjs', moduleResolution: 'node10' },
    ],
    // What `nest new` (11) generates for tests: jest on CommonJS through ts-jest, which cannot load ES modules.
    jest: {
      '@nestjs/testing': '^11.0.1',
      '@types/jest': '^30.0.0',
      '@types/supertest': '^7.0.0',
      jest: '^30.0.0',
      supertest: '^7.0.0',
      'ts-jest': '^29.2.5',
      typescript: '^5.7.3',
    },
  },
  {
    name: 'Nest 12, ESM, ioredis 6',
    nest: '^12.0.0',
    major: '12',
    ioredis: '^6.0.0',
    type: 'module',
    entry: 'app.mjs',
    extraDependencies: { '@nestjs/config': '^12.0.0' } as Record<string, string>,
    addOnsFromReadme: false,
    files: [] as string[],
    typeChecks: [
      { tsc: TSC.current, module: 'nodenext', moduleResolution: 'nodenext' },
      { tsc: TSC.current, module: 'node16', moduleResolution: 'node16' },
      { tsc: TSC.current, module: 'esnext', moduleResolution: 'bundler' },
    ],
    jest: undefined,
  },
] as const;

describe('the packed library in a fresh application', () => {
  let fake: FakePostHog;
  let redis: RedisServer;
  let inspect: Redis;
  let work: string;
  let tarball: string;

  beforeAll(async () => {
    fake = await startStandardPostHog();
    redis = await RedisServer.start();
    inspect = new Redis({ port: redis.port });
    work = mkdtempSync(join(tmpdir(), 'flags-package-'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT });
    tarball = join(work, JSON.parse(stdout)[0].filename);
  }, 120_000);

  it('ships no source map (the sources are not shipped)', async () => {
    const { stdout } = await run('tar', ['tzf', tarball]);
    expect(stdout.split('\n').filter((file) => file.endsWith('.map'))).toEqual([]);
    expect(stdout).toContain('package/LICENSE');
  });

  afterAll(async () => {
    inspect.disconnect();
    await redis.stop();
    await fake.close();
    rmSync(work, { recursive: true, force: true });
  });

  it.each(FLAVOURS)(
    'works in a $name application: forRoot, the service, the guard and the OpenFeature provider',
    async (flavour) => {
      const dir = join(work, flavour.type);
      rmSync(dir, { recursive: true, force: true });
      await run('mkdir', ['-p', dir]);
      writeFileSync(
        join(dir, 'package.json'),
        JSON.stringify({
          name: `flags-${flavour.type}-app`,
          private: true,
          type: flavour.type,
          dependencies: {
            '@nestjs/common': flavour.nest,
            '@nestjs/core': flavour.nest,
            '@nestjs/platform-express': flavour.nest,
            'reflect-metadata': '^0.2.0',
            rxjs: '^7.8.0',
            ioredis: flavour.ioredis,
            'nestjs-posthog-flags': `file:${tarball}`,
            '@openfeature/server-sdk': '^1.23.0',
            '@types/node': '^20.19.0',
            ...flavour.extraDependencies,
          },
          devDependencies: flavour.jest,
          jest: flavour.jest && JSON.parse(readFileSync(join(APPS, 'nest-new-jest.json'), 'utf8')),
        }),
      );
      for (const file of [flavour.entry, 'define-app.cjs', 'consumer.ts', ...flavour.files])
        copyFileSync(join(APPS, file), join(dir, file));
      const npmInstall = ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'];
      await run('npm', npmInstall, { cwd: dir });
      if (flavour.addOnsFromReadme) await run('npm', [...npmInstall, ...readmeNest11AddOns()], { cwd: dir });
      for (const { tsc, module, moduleResolution } of flavour.typeChecks) {
        const options = ['--module', module, '--moduleResolution', moduleResolution, '--target', 'es2022'];
        const flags = ['--noEmit', '--strict', '--noUncheckedIndexedAccess', '--skipLibCheck', '--types', 'node'];
        const checked = await run(process.execPath, [tsc, ...flags, ...options, 'consumer.ts'], { cwd: dir }).then(
          () => 'compiles',
          (error: Error & { stdout?: string }) => error.stdout ?? String(error),
        );
        expect(`${module}/${moduleResolution}: ${checked}`).toBe(`${module}/${moduleResolution}: compiles`);
      }

      const { stdout } = await run(process.execPath, [flavour.entry], {
        cwd: dir,
        timeout: 30_000,
        env: {
          ...process.env,
          POSTHOG_API_KEY: TEST_API_KEY,
          POSTHOG_HOST: fake.url,
          FLAGS_CACHE_URL: redis.url(`prefix=${flavour.type}:`),
        },
      });
      const outcome = JSON.parse(stdout);
      expect(outcome.nest.split('.')[0]).toBe(flavour.major);
      expect(outcome).toMatchObject({
        oneCopy: true,
        betaForUser: 200,
        betaAnonymous: 404,
        checkout: { checkout: 'test' },
        service: { beta: true, checkout: 'test', 'dark-mode': false },
        cache: { backend: 'redis', connected: true },
        testing: { key: 'beta', enabled: true, variant: 'test', source: 'override' },
      });
      expect(JSON.parse((await inspect.get(`${flavour.type}:user-1:checkout`))!).flag_result.variant).toBe('test');
      if (flavour.type === 'module') {
        expect(outcome.health).toBe('needs @nestjs/terminus');
        expect(outcome.openFeature).toEqual({ value: 'test', variant: 'test', reason: 'TARGETING_MATCH' });
      } else {
        const answers = {
          betaForUser: 200,
          betaAnonymous: 404,
          darkModeForUser: 404,
          flagsForUser: {
            beta: true,
            betaReason: 'TARGETING_MATCH',
            checkout: 'test',
            variant: 'test',
            source: 'remote',
          },
          flagsAnonymous: { beta: false, betaReason: 'ERROR', checkout: 'control' },
        };
        expect(outcome.openFeature).toEqual({ express: answers, fastify: answers });
        const transports = await run(process.execPath, ['transports-app.cjs'], {
          cwd: dir,
          timeout: 30_000,
          env: { ...process.env, POSTHOG_API_KEY: TEST_API_KEY, POSTHOG_HOST: fake.url },
        });
        expect(JSON.parse(transports.stdout)).toEqual({
          graphqlUser: 'user-1',
          graphqlAnonymous: 'FORBIDDEN',
          wsUser: 'user-1',
          wsAnonymous: 'Forbidden resource',
        });
      }

      if (flavour.jest) {
        expect(await jestOverReadmeExample(dir)).toMatch(/Tests: +2 passed, 2 total/);
        expect(await jestE2eOverFakePostHogExample(dir)).toMatch(/Tests: +1 passed, 1 total/);
      }
    },
    420_000,
  );
});

/**
 * The packages the README's Install tells a Nest 11 CommonJS app to add (`@nestjs/config@4`, …), as written there:
 * the arguments of its `npm install @nestjs/config@…` line.
 */
function readmeNest11AddOns(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const install = readme.slice(readme.indexOf('## Install'), readme.indexOf('## Quick start'));
  const line = /^npm install (@nestjs\/config@.*)$/m.exec(install)?.[1];
  expect(line).toBeDefined();
  const packages = line!.trim().split(/\s+/);
  expect(packages).toEqual(expect.arrayContaining(['@nestjs/config@4', '@nestjs/terminus@11']));
  return packages;
}

/**
 * Runs the README's `FlagsTestingModule` example, unchanged, as `src/flags.spec.ts` of the application in `dir`,
 * beside `addons-test.ts` as `src/addons.spec.ts`, with the jest configuration and tsconfig `nest new` generates;
 * what jest printed.
 */
async function jestOverReadmeExample(dir: string): Promise<string> {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'src', 'flags.spec.ts'), docsExample('README.md', 'FlagsTestingModule', "it('"));
  copyFileSync(join(APPS, 'addons-test.ts'), join(dir, 'src', 'addons.spec.ts'));
  copyFileSync(join(APPS, 'nest-new-tsconfig.json'), join(dir, 'tsconfig.json'));
  return runJest(dir, []);
}

/**
 * Runs docs/testing.md's `FakePostHog` example, unchanged, as `test/flags.e2e-spec.ts` of the application in `dir`,
 * with the `test/jest-e2e.json` `nest new` generates (as its `test:e2e` script does); what jest printed.
 */
async function jestE2eOverFakePostHogExample(dir: string): Promise<string> {
  mkdirSync(join(dir, 'test'), { recursive: true });
  const example = docsExample('docs/testing.md', 'FakePostHog.start()', "it('");
  writeFileSync(join(dir, 'test', 'flags.e2e-spec.ts'), example);
  copyFileSync(join(APPS, 'nest-new-jest-e2e.json'), join(dir, 'test', 'jest-e2e.json'));
  copyFileSync(join(APPS, 'nest-new-tsconfig.json'), join(dir, 'tsconfig.json'));
  return runJest(dir, ['--config', './test/jest-e2e.json']);
}

/** Runs the application's jest with these arguments; what it printed. */
function runJest(dir: string, args: string[]): Promise<string> {
  const jest = join(dir, 'node_modules/jest/bin/jest.js');
  return run(process.execPath, [jest, '--ci', ...args], { cwd: dir, timeout: 120_000 }).then(
    ({ stderr }) => stderr,
    (error: Error & { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? String(error)}`,
  );
}
