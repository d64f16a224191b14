/** The JSON text would be longer than the bound given to {@link jsonText}. */
export class JsonTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`over ${maxBytes} bytes`);
    this.name = 'JsonTooLargeError';
  }
}

/** An array or object being written: its remaining members. */
interface Frame {
  readonly close: ']' | '}';
  readonly items: readonly unknown[];
  /** For an object: the member names, in the order of `items`. */
  readonly names?: readonly string[];
  next: number;
}

/**
 * `JSON.stringify(value)` for parsed JSON data (objects, arrays, strings, finite numbers, booleans, null), with a
 * stack of its own: no depth overflows the call stack (V8's own recurses, and a 20,000-deep cohort is enough).
 * Object members whose value JSON has no text for (`undefined`, functions) are left out, and are `null` in arrays;
 * non-finite numbers are `null`, as JSON.stringify writes them.
 * @throws {JsonTooLargeError} as soon as the text (counted in UTF-16 code units, at least its UTF-8 bytes / 3)
 * passes `maxLength`.
 */
export function jsonText(value: unknown, maxLength = Number.MAX_SAFE_INTEGER): string {
  const parts: string[] = [];
  let length = 0;
  const push = (text: string) => {
    length += text.length;
    if (length > maxLength) throw new JsonTooLargeError(maxLength);
    parts.push(text);
  };
  const stack: Frame[] = [];
  const open = (item: unknown) => {
    if (typeof item !== 'object' || item === null) return push(scalarText(item));
    if (Array.isArray(item)) {
      push('[');
      stack.push({ close: ']', items: item, next: 0 });
      return;
    }
    const names = Object.keys(item).filter((name) => hasText((item as Record<string, unknown>)[name]));
    push('{');
    stack.push({ close: '}', items: names.map((name) => (item as Record<string, unknown>)[name]), names, next: 0 });
  };
  open(value);
  while (stack.length > 0) {
    const frame = stack.at(-1)!;
    if (frame.next === frame.items.length) {
      push(frame.close);
      stack.pop();
      continue;
    }
    const index = frame.next++;
    if (index > 0) push(',');
    if (frame.names) push(`${JSON.stringify(frame.names[index])}:`);
    open(frame.items[index]);
  }
  return parts.join('');
}

/** Whether JSON writes a member with this value (not `undefined`, a function or a symbol). */
function hasText(value: unknown): boolean {
  return value !== undefined && typeof value !== 'function' && typeof value !== 'symbol';
}

/** The JSON text of a value that is no array or object. */
function scalarText(value: unknown): string {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'bigint') throw new TypeError('a bigint has no JSON text');
  return hasText(value) ? JSON.stringify(value) : 'null';
}
