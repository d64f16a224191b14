import type { FlagContext } from '../flags.types.js';
import { SERVER_RUNTIME } from '../local/engine/evaluation-runtime.js';

/** What a `/flags` request asks besides the context. */
export interface FlagsQuestion {
  /** Evaluate only these keys (every flag when undefined). */
  keys?: readonly string[];
  /** Sent as `geoip_disable`: PostHog derives no GeoIP properties from the caller's address. */
  disableGeoip: boolean;
  /** Sent as `evaluation_contexts` when not empty: PostHog leaves out the flags limited to other contexts. */
  evaluationContexts?: readonly string[];
}

/**
 * The JSON body of `POST /flags/?v=2` for a context and a question, with `evaluation_runtime: 'server'` (PostHog
 * leaves out flags marked `client`), as posthog-node sends it. The device id goes in the person properties
 * and, as posthog-node sends it, at the top level as `$device_id` (a `$device_id` among the given person properties
 * wins over `deviceId`, in both places). `evaluation_contexts` only when some are configured, as posthog-node.
 */
export function flagsRequestBody(apiKey: string, context: FlagContext, question: FlagsQuestion): string {
  const personProperties = context.deviceId
    ? { $device_id: context.deviceId, ...context.personProperties }
    : (context.personProperties ?? {});
  const deviceId = Object.hasOwn(personProperties, '$device_id') ? personProperties.$device_id : undefined;
  return JSON.stringify({
    token: apiKey,
    distinct_id: context.distinctId,
    groups: context.groups ?? {},
    person_properties: personProperties,
    group_properties: context.groupProperties ?? {},
    geoip_disable: question.disableGeoip,
    ...(question.keys ? { flag_keys_to_evaluate: question.keys } : {}),
    ...(deviceId ? { $device_id: deviceId } : {}),
    ...(question.evaluationContexts?.length ? { evaluation_contexts: question.evaluationContexts } : {}),
    evaluation_runtime: SERVER_RUNTIME,
  });
}
