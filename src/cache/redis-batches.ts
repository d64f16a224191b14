import type { RedisConnection } from './redis-connection.js';

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
