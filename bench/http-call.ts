import { nextClientIp } from "./load.js";

export interface CallResult {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

/** One JSON request from a fresh benchmark client address (setup steps, probes). */
export async function call(
  url: string,
  options: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<CallResult> {
  const headers: Record<string, string> = { "x-forwarded-for": nextClientIp(), ...options.headers };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(url, {
    method: options.method ?? (options.body === undefined ? "GET" : "POST"),
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: keep the empty object; the status tells the story
  }
  return { status: response.status, body, headers: response.headers };
}

/** Runs `job(i)` for i in [0, count) with at most `concurrency` in flight. */
export async function forEachLimited<T>(
  count: number,
  concurrency: number,
  job: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await job(i);
      }
    }),
  );
  return results;
}
