/** How long `eventually` waits between two probes. */
const TURN_MS = 10;

/**
 * Resolves with the first truthy result of `probe`, asking again on each event-loop turn (a few ms apart) until
 * `limitMs`; for effects that happen behind an answer (cache writes, reconnections), which give no event to await.
 */
export async function eventually<T>(
  probe: () => Promise<T> | T,
  what: string,
  limitMs = 10_000,
): Promise<NonNullable<T>> {
  // The wait is counted in turns of a real timer, not read from a clock: a test may have faked or frozen them.
  for (let waitedMs = 0; ; waitedMs += TURN_MS) {
    const result = await probe();
    if (result) return result as NonNullable<T>;
    if (waitedMs > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, TURN_MS));
  }
}
