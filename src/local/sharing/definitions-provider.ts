/**
 * The definitions handed to {@link FlagDefinitionsProvider.onFlagDefinitionsReceived}: posthog-node's
 * `FlagDefinitionCacheData` (PostHog's snake-case fields with their camel-case aliases), plus this library's stamp
 * (`project_fingerprint`, `polled_at`, `etag`), which posthog-node's readers ignore. Store it whole (as JSON, say)
 * and give it back from `getFlagDefinitions`. Every field is always set; those posthog-node's type lacks are typed
 * optional, so that a provider typed with posthog-node's `FlagDefinitionCacheData` fits.
 */
export interface FlagDefinitionsProviderData {
  /** PostHog's flag definitions, as `/flags/definitions` sent them. */
  flags: unknown[];
  group_type_mapping?: Record<string, string>;
  /** The alias posthog-node's older readers use. */
  groupTypeMapping: Record<string, string>;
  cohorts: Record<string, unknown>;
  property_matching_version?: number;
  /** The alias posthog-node's older readers use. */
  propertyMatchingVersion?: number;
  /** A short hash of the project API key (never the key): another project's definitions are never used. */
  project_fingerprint?: string;
  /** When PostHog was polled for them (ISO 8601): readers tell a live publisher from a quiet one. */
  polled_at?: string;
  /** PostHog's ETag of them, or `null`. */
  etag?: string | null;
}

/**
 * Your own store of flag definitions (a database, S3, a file, your own Redis key), with the methods and semantics
 * of posthog-node's `FlagDefinitionCacheProvider`, so that a provider written for posthog-node works unchanged.
 * With a secret key, each round asks {@link shouldFetchFlagDefinitions}: `true` polls PostHog and hands new
 * definitions to {@link onFlagDefinitionsReceived}; `false` reads {@link getFlagDefinitions} (and polls PostHog
 * itself, publishing nothing, only while that serves nothing usable or its publisher has gone quiet). Without a
 * secret key the instance is a cache-only reader: only {@link getFlagDefinitions}. Every method may throw or hang:
 * each call is bounded by the module's `timeoutMs`, a failure is one warning per episode, and evaluation goes on
 * with the definitions loaded.
 */
export interface FlagDefinitionsProvider {
  /**
   * The stored definitions (snake or camel case, posthog-node's or this library's), or `undefined` (or `null`)
   * when there are none.
   */
  getFlagDefinitions(): Promise<object | null | undefined> | object | null | undefined;
  /** Whether this instance fetches from PostHog now (a distributed lock, say). Not asked of cache-only readers. */
  shouldFetchFlagDefinitions(): Promise<boolean> | boolean;
  /** New definitions from PostHog (after a `200`, and after a `304` to move `polled_at`): store them. */
  onFlagDefinitionsReceived(data: FlagDefinitionsProviderData): Promise<void> | void;
  /** The application shuts down: release locks, close connections. */
  shutdown?(): Promise<void> | void;
}
