import type { Cluster, Redis } from 'ioredis';
import { keySlot } from './cluster-slot.js';

/**
 * The items grouped by the address (`host:port`) of the primary that serves their key's slot, as the client
 * knows the slots now; items whose slot it does not know yet are grouped under `''`.
 */
export function groupByNode<T>(cluster: Cluster, items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const node = cluster.slots[keySlot(keyOf(item))]?.[0] ?? '';
    const group = groups.get(node);
    if (group) group.push(item);
    else groups.set(node, [item]);
  }
  return groups;
}

/** The client's connection to the primary at `address` (`host:port`, as in `cluster.slots`), if it has one. */
export function primaryConnection(cluster: Cluster, address: string): Redis | undefined {
  return cluster.nodes('master').find(({ options }) => `${options.host}:${options.port}` === address);
}

/** The client's connection to the primary serving the key's slot, if it knows the slot and has one. */
export function primaryOf(cluster: Cluster, key: string): Redis | undefined {
  const address = cluster.slots[keySlot(key)]?.[0];
  return address === undefined ? undefined : primaryConnection(cluster, address);
}
