import { FlagsConfigError } from './flags-config-error.js';

/** A character an HTTP header value cannot carry as it is: a control character, or one beyond Latin-1. */
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const UNSENDABLE = /[\x00-\x1f\x7f]|[^\x00-\xff]/u;

/**
 * Checks that a key can be sent as it is (in a header or a request body): no control character (a line break
 * copied from a file, say) and nothing beyond Latin-1. Without this the key passes startup and every request
 * fails.
 * @throws {FlagsConfigError} naming the setting and the position of the first such character, never the key.
 */
export function assertSendableKey(name: string, key: string): void {
  const found = UNSENDABLE.exec(key);
  if (!found) return;
  const code = found[0].codePointAt(0)!;
  const what = code > 0xff ? 'a character beyond Latin-1' : 'a control character';
  throw new FlagsConfigError(
    `${name} holds ${what} (U+${code.toString(16).toUpperCase().padStart(4, '0')}) at position ${found.index + 1}, ` +
      'which cannot be sent in an HTTP header; copy the key again',
  );
}
