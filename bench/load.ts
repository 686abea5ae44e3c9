import autocannon, { type RawRequest, type RequestSpec } from "autocannon";

/** One step of a virtual client's loop: what to send, and what to learn from the answer. */
export interface Step {
  method?: "GET" | "POST";
  path: string;
  /**
   * Builds the request for this turn; `context` lives for one pass through the steps. Returning
   * null (not allowed for the first step) ends the pass here: the next request starts a new one.
   */
  build?: (
    context: Record<string, unknown>,
  ) => { body?: unknown; headers?: Record<string, string>; path?: string } | null;
  onResponse?: (
    status: number,
    body: string,
    context: Record<string, unknown>,
    headers: Record<string, string | string[]>,
  ) => void;
  /** Whether an answer is a success; default: a 2xx status. */
  accept?: (status: number, body: string) => boolean;
}

export interface LoadOptions {
  url: string;
  connections: number;
  durationSeconds: number;
  steps: Step[];
  /** Caps the offered rate (requests per second over all connections); unset: as fast as answered. */
  overallRate?: number;
  timeoutSeconds?: number;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
}

export interface LoadResult {
  durationSeconds: number;
  /** Completed passes through the steps (one request, or login + verify) whose every answer succeeded, per second. */
  okPerSecond: number;
  /** Latency of those passes, from the first request sent to the last answer. */
  ok: LatencySummary;
  /** Latency of 503 answers (the overload row needs to show they come quickly). */
  unavailable: LatencySummary & { withRetryAfter: number };
  /** Status -> count, for every answer. */
  statuses: Record<number, number>;
  /** Answers that were not a success, plus socket errors and timeouts. */
  errors: number;
  /** The raw latencies (ms) behind `ok` and `unavailable`, so runs can be merged (`mergeLoads`). */
  samples: { ok: number[]; unavailable: number[] };
}

/**
 * 198.18.0.0/15 is reserved for benchmarking (RFC 2544): 131,072 client addresses, each sent only
 * as an X-Forwarded-For value, so per-IP limits see many clients and not the load generator.
 */
const BENCH_NET = (198 << 24) | (18 << 16);
const BENCH_NET_SIZE = 1 << 17;
let nextClient = 0;

export function nextClientIp(): string {
  const n = (BENCH_NET + (nextClient++ % BENCH_NET_SIZE)) >>> 0;
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function summarise(samples: number[]): LatencySummary {
  if (samples.length === 0) return { count: 0, p50: 0, p99: 0 };
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { count: sorted.length, p50: round(at(0.5)), p99: round(at(0.99)) };
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/**
 * Drives the target with autocannon. Every request carries a fresh client address. Latency is
 * measured here from the moment a request is built (autocannon builds it right before writing
 * it), so successes and refusals can be reported apart.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const okLatencies: number[] = [];
  const unavailableLatencies: number[] = [];
  const statuses: Record<number, number> = {};
  let withRetryAfter = 0;
  let failed = 0;

  const last = options.steps.length - 1;
  const requests: RequestSpec[] = options.steps.map((step, index) => ({
    method: step.method ?? "GET",
    path: step.path,
    setupRequest(request: RawRequest, context: Record<string, unknown>) {
      const built = step.build ? step.build(context) : {};
      if (built === null) return null;
      const now = performance.now();
      context.startedAt = now;
      if (index === 0) context.flowStartedAt = now;
      const headers: Record<string, string> = { "x-forwarded-for": nextClientIp(), ...built.headers };
      if (built.body !== undefined) headers["content-type"] = "application/json";
      return {
        ...request,
        path: built.path ?? step.path,
        headers,
        body: built.body === undefined ? undefined : JSON.stringify(built.body),
      };
    },
    onResponse(status, body, context, headers) {
      const now = performance.now();
      const isOk = step.accept ? step.accept(status, body) : status >= 200 && status < 300;
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (!isOk) failed++;
      else if (index === last) okLatencies.push(now - (context.flowStartedAt as number));
      if (status === 503) {
        unavailableLatencies.push(now - (context.startedAt as number));
        if (headers["retry-after"] !== undefined) withRetryAfter++;
      }
      step.onResponse?.(status, body, context, headers);
    },
  }));

  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationSeconds,
    timeout: options.timeoutSeconds ?? 10,
    overallRate: options.overallRate,
    requests,
  });
  const okCount = okLatencies.length;
  return {
    durationSeconds: result.duration,
    okPerSecond: Math.round(okCount / result.duration),
    ok: summarise(okLatencies),
    unavailable: { ...summarise(unavailableLatencies), withRetryAfter },
    statuses,
    // autocannon's `errors` counts connection errors, timeouts included.
    errors: failed + result.errors,
    samples: { ok: okLatencies, unavailable: unavailableLatencies },
  };
}

/** Several runs of one scenario as if they were one: rates over the summed duration, percentiles over every sample. */
export function mergeLoads(results: LoadResult[]): LoadResult {
  const ok = results.flatMap((r) => r.samples.ok);
  const unavailable = results.flatMap((r) => r.samples.unavailable);
  const durationSeconds = results.reduce((sum, r) => sum + r.durationSeconds, 0);
  const statuses: Record<number, number> = {};
  for (const r of results)
    for (const [status, n] of Object.entries(r.statuses))
      statuses[Number(status)] = (statuses[Number(status)] ?? 0) + n;
  return {
    durationSeconds,
    okPerSecond: Math.round(ok.length / durationSeconds),
    ok: summarise(ok),
    unavailable: {
      ...summarise(unavailable),
      withRetryAfter: results.reduce((sum, r) => sum + r.unavailable.withRetryAfter, 0),
    },
    statuses,
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    samples: { ok, unavailable },
  };
}

/**
 * Scenarios compared as a ratio, run in alternation: `rounds` short runs of each, one after the
 * other, merged per scenario. A machine that slows down for a while (other work on it) then
 * slows every scenario alike, instead of whichever happened to run at that moment.
 */
export async function runInterleaved<K extends string>(
  options: Omit<LoadOptions, "steps" | "durationSeconds"> & {
    rounds: number;
    sliceSeconds: number;
    scenarios: Record<K, Step[]>;
    /** The server's CPU seconds so far: each scenario is then charged what its own slices used. */
    cpuSeconds?: () => number;
  },
): Promise<Record<K, { result: LoadResult; cpuSeconds?: number }>> {
  const runs = new Map<K, { results: LoadResult[]; cpuSeconds: number }>();
  for (let round = 0; round < options.rounds; round++)
    for (const [name, steps] of Object.entries(options.scenarios) as Array<[K, Step[]]>) {
      const cpuBefore = options.cpuSeconds?.() ?? 0;
      const result = await runLoad({ ...options, durationSeconds: options.sliceSeconds, steps });
      const run = runs.get(name) ?? { results: [], cpuSeconds: 0 };
      run.results.push(result);
      run.cpuSeconds += (options.cpuSeconds?.() ?? 0) - cpuBefore;
      runs.set(name, run);
    }
  return Object.fromEntries(
    [...runs].map(([name, run]) => [
      name,
      { result: mergeLoads(run.results), cpuSeconds: options.cpuSeconds ? run.cpuSeconds : undefined },
    ]),
  ) as Record<K, { result: LoadResult; cpuSeconds?: number }>;
}

/** Runs `job` with `concurrency` copies in flight for `durationSeconds`; completions per second. */
export async function runClosedLoop(
  concurrency: number,
  durationSeconds: number,
  job: () => Promise<unknown>,
): Promise<{ perSecond: number; cpuMsPerOp: number }> {
  const deadline = performance.now() + durationSeconds * 1000;
  let done = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await job();
        done++;
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return {
    perSecond: Math.round(done / ((performance.now() - started) / 1000)),
    // This process's CPU (every thread: argon2 and WebCrypto run on libuv's pool) per operation.
    cpuMsPerOp: done > 0 ? (used.user + used.system) / 1000 / done : 0,
  };
}
