/**
 * Bounds on the work of matching a regex locally. RE2 matches in time linear in its program's size × the input's
 * length (about 20–30 ns a step here: `[a-z]{1000}$` against 10 kB took 229 ms), and compiles in time linear in
 * the program's size (a 4 KiB pattern of counted repetitions compiles to 585,000 instructions: about a second).
 * Past these bounds the condition goes to PostHog's `/flags`, as for a regex the dialects may read differently.
 */

/** The longest pattern compiled here. */
export const MAX_PATTERN_LENGTH = 4096;

/**
 * The largest program compiled here, as {@link estimatedProgramSize} estimates it before compiling (about twice
 * the real size): a few ms to compile.
 */
export const MAX_ESTIMATED_PROGRAM_SIZE = 5000;

/** The most steps (program size × input length) one match may take here: some 20–30 ms at worst. */
export const MAX_MATCH_STEPS = 1_000_000;

/**
 * An upper estimate of the size of the program RE2 compiles the pattern to, without compiling it: each atom (a
 * character, an escape, a class) counts 1, an alternative or an operator 1 more, and a counted repetition `{n,m}`
 * copies its atom (or group) max(n, m) times, each copy with its own instruction. Only meaningful for a pattern
 * that passed the portability check (no `(?` other than `(?:`); linear in the pattern's length.
 */
export function estimatedProgramSize(pattern: string): number {
  const groups: number[] = [0];
  let atom = 0;
  for (let index = 0; index < pattern.length; index++) {
    const character = pattern[index]!;
    if (character === '\\') {
      index += pattern[index + 1] === 'x' ? 3 : 1;
      atom = 1;
    } else if (character === '[') {
      index = classEnd(pattern, index);
      atom = 1;
    } else if (character === '(') {
      if (pattern[index + 1] === '?') index += 2;
      groups.push(0);
      atom = 0;
      continue;
    } else if (character === ')' && groups.length > 1) {
      atom = groups.pop()! + 2;
    } else if (character === '{' && /^\{\d/.test(pattern.slice(index, index + 2))) {
      const end = pattern.indexOf('}', index);
      const counts = pattern.slice(index + 1, end === -1 ? pattern.length : end).split(',');
      const times = Math.max(Number(counts[0]), Number(counts[1] || counts[0])) + 1;
      index = end === -1 ? pattern.length : end;
      groups[groups.length - 1]! += (atom + 1) * times - atom;
      atom = 0;
      continue;
    } else {
      atom = 1;
    }
    groups[groups.length - 1]! += atom + 1;
  }
  return groups.reduce((sum, size) => sum + size, 0);
}

/** The index of the `]` closing the class opened at `start` (escapes skipped; a leading `]` or `^]` is literal). */
function classEnd(pattern: string, start: number): number {
  let index = start + 1;
  if (pattern[index] === '^') index++;
  if (pattern[index] === ']') index++;
  for (; index < pattern.length; index++) {
    if (pattern[index] === '\\') index++;
    else if (pattern[index] === ']') return index;
  }
  return pattern.length;
}
