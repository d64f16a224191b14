/**
 * What `FlagsModule`'s `openFeature` option takes: an object the module hands its `FlagsService` to once the
 * application has started, and takes it back from at shutdown. `PostHogFlagsProvider` (from
 * `nestjs-posthog-flags/openfeature`) is one; this interface keeps the main entry free of `@openfeature/*`.
 */
export interface FlagsServiceBinding {
  /**
   * Called once, when the application has started, with the application's `FlagsService`.
   * @returns the function that unbinds it, called when the application shuts down.
   * @throws when it is bound already (to another application's service).
   */
  bindFlagsService(flags: object): () => void;
  /**
   * Called when the application begins to shut down, before its calls to PostHog are ended (it is unbound later).
   * @internal
   */
  applicationClosing?(): void;
}
