import { Logger } from '@nestjs/common';
import { LIBRARY_NAME } from '../../flags.constants.js';
import { boundedCall } from '../../util/bounded-call.js';
import { isRecord } from '../../util/is-record.js';
import { JsonTooLargeError, jsonText } from '../../util/json-text.js';
import { kindOf } from '../../util/kind-of.js';
import { messageOf } from '../../util/message-of.js';
import type { FlagDefinitionsData } from '../definitions.js';
import type { FlagDefinitionsProvider, FlagDefinitionsProviderData } from './definitions-provider.js';
import {
  SharedDefinitionsReadError,
  SharedDefinitionsWriteError,
  type DefinitionsStore,
  type DefinitionsStoreSettings,
  type KeepOutcome,
  type LockRole,
  type SharedRead,
} from './definitions-store.js';
import { decodeSharedValue, type SharedDefinitions } from '../shared-definitions.js';

/** The largest definitions read from a provider (as JSON text): as the shared Redis value's default bound. */
const MAX_PROVIDER_DEFINITIONS_LENGTH = 64 * 1024 * 1024;

/**
 * The `definitionsStore` option as a {@link DefinitionsStore}: posthog-node's `FlagDefinitionCacheProvider`
 * semantics over the poller's rounds. Every call is bounded by `timeoutMs`. Definitions read back with this
 * library's stamp tell their project and poll time (staleness as for Redis); without one (a posthog-node writer)
 * they are trusted as fresh when read, as posthog-node does.
 */
export class ProviderDefinitionsStore implements DefinitionsStore {
  readonly source = 'store';
  readonly description = 'the definitionsStore';
  private readonly logger = new Logger(LIBRARY_NAME);
  /** The text of the last definitions read, and what they gave: unchanged, the very same object. */
  private known?: { text: string; shared: SharedDefinitions };
  /** The poll time of the definitions last handed to the provider. */
  private publishedPolledAt?: number;

  constructor(
    private readonly provider: FlagDefinitionsProvider,
    private readonly settings: DefinitionsStoreSettings,
    private readonly timeoutMs: number,
  ) {}

  async shouldPoll(): Promise<LockRole> {
    const fetch = await this.call('shouldFetchFlagDefinitions', () => this.provider.shouldFetchFlagDefinitions());
    return fetch ? 'poller' : 'follower';
  }

  async load(): Promise<SharedRead> {
    let stored: unknown;
    try {
      stored = await this.call('getFlagDefinitions', () => this.provider.getFlagDefinitions());
    } catch (error) {
      throw new SharedDefinitionsReadError(messageOf(error), { cause: error });
    }
    if (stored === undefined || stored === null) return { kind: 'missing', lockHeld: false };
    const read = this.decode(stored);
    if (typeof read === 'string') return { kind: 'unusable', problem: read, lockHeld: false };
    const { stamp } = read;
    if (stamp && stamp.fingerprint !== this.settings.fingerprint) return { kind: 'foreign', lockHeld: false };
    // Without a stamp (posthog-node wrote it), the provider vouches for them: fresh when read.
    return stamp
      ? { kind: 'definitions', shared: read, polledAt: stamp.polledAt, lockHeld: false }
      : { kind: 'definitions', shared: read, lockHeld: true };
  }

  async keep(data: FlagDefinitionsData, stamp: { polledAt: number; etag?: string }): Promise<KeepOutcome> {
    if (stamp.polledAt === this.publishedPolledAt) return { kind: 'kept' };
    const handed = providerData(data, { ...stamp, fingerprint: this.settings.fingerprint });
    try {
      await this.call('onFlagDefinitionsReceived', () => this.provider.onFlagDefinitionsReceived(handed));
    } catch (error) {
      throw new SharedDefinitionsWriteError(messageOf(error), { cause: error });
    }
    this.publishedPolledAt = stamp.polledAt;
    return { kind: 'published' };
  }

  /** Calls the provider's `shutdown` (when it has one), bounded; a failure is one warning. Never rejects. */
  async release(): Promise<void> {
    if (typeof this.provider.shutdown !== 'function') return;
    try {
      await this.call('shutdown', () => this.provider.shutdown!());
    } catch (error) {
      this.logger.warn(messageOf(error));
    }
  }

  private call<T>(method: string, call: () => T | PromiseLike<T>): Promise<T> {
    return boundedCall(`definitionsStore.${method}()`, this.timeoutMs, call);
  }

  /** The stored value as definitions (snake or camel case), the same object when unchanged; else the problem. */
  private decode(stored: unknown): SharedDefinitions | string {
    if (!isRecord(stored)) return `getFlagDefinitions() gave ${kindOf(stored)}, not definitions`;
    let text: string;
    try {
      text = jsonText(snakeCase(stored), MAX_PROVIDER_DEFINITIONS_LENGTH);
    } catch (error) {
      if (error instanceof JsonTooLargeError)
        return `getFlagDefinitions() gave definitions over ${error.maxBytes} bytes`;
      return `getFlagDefinitions() gave no JSON data (${messageOf(error)})`;
    }
    if (this.known?.text === text) return this.known.shared;
    try {
      const shared = decodeSharedValue(text);
      this.known = { text, shared };
      return shared;
    } catch (error) {
      return `getFlagDefinitions() gave no definitions (${messageOf(error)})`;
    }
  }
}

/** posthog-node's camel-case aliases read as the snake-case fields, which win when both are there. */
function snakeCase(stored: Record<string, unknown>): Record<string, unknown> {
  const value: Record<string, unknown> = { ...stored };
  if (!Object.hasOwn(stored, 'group_type_mapping')) value.group_type_mapping = stored.groupTypeMapping;
  if (!Object.hasOwn(stored, 'property_matching_version'))
    value.property_matching_version = stored.propertyMatchingVersion;
  delete value.groupTypeMapping;
  delete value.propertyMatchingVersion;
  return value;
}

/** What the provider is handed: posthog-node's fields and aliases, and this library's stamp. */
function providerData(
  data: FlagDefinitionsData,
  stamp: { polledAt: number; etag?: string; fingerprint: string },
): FlagDefinitionsProviderData {
  const { flags, group_type_mapping, cohorts, property_matching_version } = data;
  return {
    flags,
    group_type_mapping,
    groupTypeMapping: group_type_mapping,
    cohorts,
    ...(property_matching_version === undefined
      ? {}
      : { property_matching_version, propertyMatchingVersion: property_matching_version }),
    project_fingerprint: stamp.fingerprint,
    polled_at: new Date(stamp.polledAt).toISOString(),
    etag: stamp.etag ?? null,
  };
}
