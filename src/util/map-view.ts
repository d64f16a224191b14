/**
 * A read-only map whose values are made or looked up when handed out (nothing is copied): a subclass gives `get`,
 * `has`, `size` and `keys()`, and the iterations are derived from them, each value read with `get` as it is
 * handed out.
 */
export abstract class MapView<K, V> implements ReadonlyMap<K, V> {
  abstract get(key: K): V | undefined;
  abstract has(key: K): boolean;
  abstract readonly size: number;
  abstract keys(): MapIterator<K>;

  /** Every value, each read as it is handed out. */
  *values(): MapIterator<V> {
    for (const key of this.keys()) yield this.get(key)!;
  }

  /** Every key and value, each value read as it is handed out. */
  *entries(): MapIterator<[K, V]> {
    for (const key of this.keys()) yield [key, this.get(key)!];
  }

  /** As {@link entries}. */
  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  /** Calls `callback` with every value, each read as it is handed out. */
  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void): void {
    for (const key of this.keys()) callback(this.get(key)!, key, this);
  }
}
