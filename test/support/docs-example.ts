import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The ```ts block of `document` (relative to the repository) holding every one of `marks`.
 * @throws {Error} when no block does.
 */
export function docsExample(document: string, ...marks: string[]): string {
  const text = readFileSync(join(ROOT, document), 'utf8');
  const example = [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)]
    .map((match) => match[1]!)
    .find((code) => marks.every((mark) => code.includes(mark)));
  if (example === undefined) throw new Error(`no example in ${document} holds ${marks.join(', ')}`);
  return example;
}
