/** No key read yet (a key from an untyped caller may be anything, `undefined` too). */
const NONE: unique symbol = Symbol('none read');

/**
 * The keys of the flags read of a snapshot, in the order first read; shared by the snapshots made from it (a read of
 * one counts as read in all). Most requests read one flag: it is held without a set, which is made on a second.
 */
export class AccessedFlags implements Iterable<string> {
  #first: string | typeof NONE = NONE;
  #more: Set<string> | undefined;

  /** A copy of `accessed` (for a slice, whose reads are its own from then on); empty when none is given. */
  constructor(accessed?: AccessedFlags) {
    if (!accessed) return;
    this.#first = accessed.#first;
    if (accessed.#more) this.#more = new Set(accessed.#more);
  }

  /** Counts `key` as read: `true` when it was not read before. */
  add(key: string): boolean {
    if (this.#first === NONE) {
      this.#first = key;
      return true;
    }
    if (key === this.#first || this.#more?.has(key)) return false;
    (this.#more ??= new Set()).add(key);
    return true;
  }

  /** The keys read, the first read first. */
  *[Symbol.iterator](): Iterator<string> {
    if (this.#first === NONE) return;
    yield this.#first;
    if (this.#more) yield* this.#more;
  }
}
