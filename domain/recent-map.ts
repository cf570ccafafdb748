/**
 * A map bounded to its most recently used entries. A Map iterates in insertion order, so setting an entry again
 * (delete, then set) makes it the newest, and the first entry is the least recently used, the first to go.
 */
export function keepRecent<K, V>(map: Map<K, V>, key: K, value: V, capacity: number): V[] {
  map.delete(key);
  map.set(key, value);
  const gone: V[] = [];
  for (const [oldest, v] of map) {
    if (map.size <= capacity) break;
    map.delete(oldest);
    gone.push(v);
  }
  return gone;
}
