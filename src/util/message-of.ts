/** What went wrong, as text for a log line or event: an error's `message`, else the thrown value itself. */
export function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' ? message : String(error);
}
