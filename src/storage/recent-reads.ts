import { performance } from "node:perf_hooks";
import type { RecentReads } from "../domain/lib/ports.js";
import type { Changes } from "./write-watch.js";

/**
 * At most this many reads are remembered; with AUTH_CACHE_MS at most a second, this bounds the
 * memory (a session and its user are about a kilobyte) and is well above what one process
 * serves in a second.
 */
const REMEMBERED_READS = 4096;

/** The reads of every authenticated request, remembered for at most `ttlMs`; see RecentReads. */
export function createRecentReads(changes: Changes, ttlMs: number): RecentReads {
  if (ttlMs <= 0) return readThrough;
  const entries = new Map<string, { value: unknown; readAt: number }>();
  let generation = changes.generation;
  return {
    async remember<T>(key: string, read: () => Promise<T>): Promise<T> {
      if (changes.generation !== generation) {
        entries.clear();
        generation = changes.generation;
      }
      // Counted from before the read: the value is never older than ttlMs when served.
      const startedAt = performance.now();
      const entry = entries.get(key);
      if (entry && startedAt - entry.readAt < ttlMs) return entry.value as T;
      const startedIn = changes.generation;
      const value = await read();
      // A write committed while the read ran may or may not be in `value`: keep it only if none did.
      if (changes.generation === startedIn) {
        entries.delete(key);
        if (entries.size >= REMEMBERED_READS) entries.delete(entries.keys().next().value!);
        entries.set(key, { value, readAt: startedAt });
      }
      return value;
    },
  };
}

/** Remembers nothing: inside a unit of work, and with AUTH_CACHE_MS=0. */
export const readThrough: RecentReads = { remember: (_key, read) => read() };
