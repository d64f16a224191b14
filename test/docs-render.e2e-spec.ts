import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { anchorsOf, fencesOf, linksOf, slugOf } from './support/markdown.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The documents users read on GitHub and npm: the README, the changelog and every page of `docs/`. */
const DOCUMENTS = [
  'README.md',
  'CHANGELOG.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

const read = (document: string): string => readFileSync(join(ROOT, document), 'utf8');

describe('the README and docs/ render as written', () => {
  it.each(DOCUMENTS)('%s closes every code fence it opens', (document) => {
    const unclosed = fencesOf(read(document)).filter((fence) => fence.closesAt === undefined);
    expect(unclosed.map((fence) => `${document}:${fence.opensAt} opens a fence never closed`)).toEqual([]);
  });

  it.each(DOCUMENTS)('%s links only to headings, files and headings of files that exist', (document) => {
    const broken = linksOf(read(document)).flatMap(({ target, line }) => {
      const problem = problemOf(document, target);
      return problem ? [`${document}:${line}: ${target}: ${problem}`] : [];
    });
    expect(broken).toEqual([]);
  });

  it('slugs headings as GitHub does, and sees headings under a fence never closed as code', () => {
    expect(slugOf('Guarding routes: `@FeatureFlag`')).toBe('guarding-routes-featureflag');
    expect(slugOf('Local overrides: `overrides` / `POSTHOG_FLAG_OVERRIDES`')).toBe(
      'local-overrides-overrides--posthog_flag_overrides',
    );
    expect(slugOf('`FlagsService`')).toBe('flagsservice');
    expect(slugOf('Nest 11 and 12, CommonJS and ESM')).toBe('nest-11-and-12-commonjs-and-esm');
    const broken = '# A\n\n```ts\nconst a = 1;\n\n## B\n\n[b](#b)\n';
    expect(fencesOf(broken)).toEqual([{ opensAt: 3 }]);
    expect([...anchorsOf(broken)]).toEqual(['a']);
    expect(linksOf(broken)).toEqual([]);
    expect(fencesOf('```ts\n```ts\n```\n')).toEqual([{ opensAt: 1, closesAt: 3 }]);
    expect([...anchorsOf('# Same\n## Same\n### Same')]).toEqual(['same', 'same-1', 'same-2']);
  });
});

/** What is wrong with a link of `document`; `undefined` when it leads somewhere (external links are not checked). */
function problemOf(document: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined;
  const hash = target.indexOf('#');
  const path = hash < 0 ? target : target.slice(0, hash);
  const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const file = path === '' ? document : relative(ROOT, join(ROOT, dirname(document), path));
  if (file.startsWith('..')) return 'leads out of the repository';
  if (!existsSync(join(ROOT, file))) return `no file ${file}`;
  if (anchor === undefined) return undefined;
  if (!file.endsWith('.md')) return `an anchor into ${file}, which has no headings`;
  return anchorsOf(read(file)).has(anchor) ? undefined : `no heading of ${file} has the anchor #${anchor}`;
}
