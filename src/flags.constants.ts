/** Injection token of the validated configuration the module runs with ({@link ResolvedFlagsOptions}). */
export const FLAGS_CONFIG = Symbol('FLAGS_CONFIG');

/** Injection token of the {@link FlagCache} selected by the cache URL. */
export const FLAG_CACHE = Symbol('FLAG_CACHE');

/**
 * Injection token of the store the flag definitions are shared through (`DefinitionsStore`): the
 * `definitionsStore` option, else where the cache URL keeps them, else the process.
 */
export const DEFINITIONS_STORE = Symbol('DEFINITIONS_STORE');

/** The package name, as sent in the `User-Agent` and used as the logger context. */
export const LIBRARY_NAME = 'nestjs-posthog-flags';

/** The package version, as sent in the `User-Agent`. Kept in step with package.json by a test. */
export const LIBRARY_VERSION = '0.1.0';

/** The `User-Agent` sent to PostHog, by every client of its API. */
export const USER_AGENT = `${LIBRARY_NAME}/${LIBRARY_VERSION}`;
