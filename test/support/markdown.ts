/**
 * Just enough of CommonMark and GitHub's rendering to check documents: code fences, headings and their anchors,
 * links. Written for this repository's Markdown (ATX headings, fenced code), not for every Markdown.
 */

/** One fenced code block: the line its fence opens on (1-based), and where it closes (undefined: never). */
export interface Fence {
  opensAt: number;
  closesAt?: number;
}

/** One link of the text outside code: its target as written and the line it is on. */
export interface Link {
  target: string;
  line: number;
}

/** An opening fence: up to 3 spaces, then 3 or more backticks or tildes, then the info string. */
const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})(.*)$/;

/**
 * Every fenced block, as CommonMark reads them: a fence closes only on a line of the same character, at least as
 * long, and nothing else (so a "```ts" line inside a block is part of it, not its end).
 */
export function fencesOf(text: string): Fence[] {
  const fences: Fence[] = [];
  let open: { fence: Fence; marker: string } | undefined;
  text.split('\n').forEach((line, index) => {
    const match = FENCE_OPEN.exec(line);
    if (!match) return;
    const marker = match[1]!;
    if (!open) {
      if (marker.startsWith('`') && match[2]!.includes('`')) return; // not a fence: a backtick in its info string
      open = { fence: { opensAt: index + 1 }, marker };
      fences.push(open.fence);
    } else if (marker[0] === open.marker[0] && marker.length >= open.marker.length && match[2]!.trim() === '') {
      open.fence.closesAt = index + 1;
      open = undefined;
    }
  });
  return fences;
}

/** The lines of `text` outside fenced blocks, each with its 1-based number; a never-closed fence runs to the end. */
export function proseLines(text: string): { line: string; number: number }[] {
  const inFence = new Set<number>();
  const lineCount = text.split('\n').length;
  for (const fence of fencesOf(text)) {
    for (let line = fence.opensAt; line <= (fence.closesAt ?? lineCount); line++) inFence.add(line);
  }
  return text
    .split('\n')
    .map((line, index) => ({ line, number: index + 1 }))
    .filter(({ number }) => !inFence.has(number));
}

/**
 * GitHub's anchor for a heading's text (github-slugger): the rendered text lowercased, every character that is not
 * a letter, mark, digit, connector (`_`), hyphen or space removed, each space made a hyphen.
 */
export function slugOf(heading: string): string {
  const rendered = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`/g, '')
    .trim();
  return rendered
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors GitHub gives the ATX headings of `text` outside code: a repeated slug gets `-1`, `-2`, … */
export function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { line } of proseLines(text)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (!heading) continue;
    const slug = slugOf(heading[1]!);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Every inline link target (`[text](target)`) of the text outside code blocks and code spans. */
export function linksOf(text: string): Link[] {
  return proseLines(text).flatMap(({ line, number }) =>
    [...line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((match) => ({
      target: match[1]!,
      line: number,
    })),
  );
}
