import type { Cluster } from 'ioredis';
import { keySlot } from './cluster-slot.js';
import type { RedisConnection } from './redis-connection.js';

/** The items grouped by the cluster node (primary and replicas) that serves their key's slot. */
export function groupByNode<T>(cluster: Cluster, items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const node = cluster.slots[keySlot(keyOf(item))]?.join() ?? '';
    const group = groups.get(node);
    if (group) group.push(item);
    else groups.set(node, [item]);
  }
  return groups;
}

/** What the promise resolves with within `ms`; `null` when it rejects or takes longer (its timer cleared). */
export async function withinMs<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(resolve, ms, null)));
  try {
    return await Promise.race([promise.catch(() => null), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a pipeline or transaction; rejects with the first command's error. */
export async function execOrThrow(batch: ReturnType<RedisConnection['pipeline']>): Promise<void> {
  for (const [error] of (await batch.exec()) ?? []) {
    if (error) throw error;
  }
}
