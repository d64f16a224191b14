/**
 * Resolves with the first truthy result of `probe`, asking again on each event-loop turn (a few ms apart) until
 * `limitMs`; for effects that happen behind an answer (cache writes, reconnections), which give no event to await.
 */
export async function eventually<T>(
  probe: () => Promise<T> | T,
  what: string,
  limitMs = 10_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const result = await probe();
    if (result) return result as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
