/**
 * What a failed call says of the upstream: `opens` the circuit at once (a rejected API key), `counts` toward the
 * threshold (the upstream is unhealthy), or `ignores` (about that call alone: neither a failure nor a success).
 */
export type FailureVerdict = 'opens' | 'counts' | 'ignores';
