/**
 * A configuration the module cannot run with: a bad option, environment variable or cache URL. Thrown at
 * startup; the message names the setting and what is accepted, never a secret; a wrapped error is its `cause`.
 */
export class FlagsConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(`nestjs-posthog-flags: ${message}`, options);
    this.name = 'FlagsConfigError';
  }
}
