import os from "node:os";
import type { LoadResult } from "./load.js";
import type { Rss } from "./server-process.js";

/** `me-jwt-paired`: GET /api/v1/me with a JWT, run in alternation with `me-api-key` and `introspect` (their baseline). */
export type Operation = "login" | "mfa" | "refresh" | "me" | "me-jwt-paired" | "me-api-key" | "introspect" | "jwks";

/** One measured load: who, what, how hard, and what came back. */
export interface Row {
  /** `floor`: bench/floor/server.ts, JWT verification alone (`me`), or hashing and signing alone (`login`). */
  server: "Warden" | "better-auth" | "floor";
  operation: Operation;
  scenario: string;
  engine: string;
  workers: number;
  connections: number;
  result: LoadResult | null;
  peakRss: Rss;
  /** Server CPU (user + system, all its processes) per successful pass, in ms: unlike req/s, barely moved by a busy machine. */
  cpuMsPerOp?: number;
  /** Why there is no result (an endpoint not on this build, say). */
  note?: string;
}

export interface OverloadRow {
  engine: string;
  workers: number;
  connections: number;
  sustainableLoginsPerSecond: number;
  /** Peak RSS of the login row at the sustainable rate, to compare with. */
  loginPeakRss: Rss;
  offeredPerSecond: number;
  result: LoadResult;
  peakRss: Rss;
  aliveAfter: boolean;
}

export interface Physical {
  /** poolThreads: the libuv pool of the faster of the two raw runs (bench/physical.ts). */
  argon2: { concurrency: number; perSecond: number; cpuMsPerOp: number; poolThreads?: number };
  sign: { concurrency: number; perSecond: number; cpuMsPerOp: number };
}

export interface Report {
  command: string;
  startedAt: Date;
  rows: Row[];
  /** Extra points for the throughput-against-concurrency chart (the main rows count too). */
  sweep: Row[];
  overload: OverloadRow[];
  physical: Physical;
  /** Spawn to first answer of a fresh Warden (empty SQLite file: migrations, first key, secret), one per try, ms. */
  startMs: number[];
  notes: string[];
}

const fmt = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 1 });
const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : "n/a");

function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? "unknown CPU"}, ${os.availableParallelism()} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
}

function statusSummary(result: LoadResult): string {
  if (result.errors === 0) return "0";
  const bad = Object.entries(result.statuses)
    .filter(([status]) => Number(status) >= 300)
    .map(([status, n]) => `${n}x${status}`);
  return `${fmt(result.errors)}${bad.length ? ` (${bad.join(", ")})` : ""}`;
}

/** Total of the server's processes, and the largest one when there are several. */
const rssCell = (rss: Rss) =>
  rss.largestMb === rss.totalMb ? String(rss.totalMb) : `${rss.totalMb} (${rss.largestMb})`;

export function rowCells(row: Row): string[] {
  const head = [
    row.scenario,
    row.server === "better-auth" ? `${row.engine} (better-auth)` : row.engine,
    String(row.workers),
    String(row.connections),
  ];
  if (!row.result) return [...head, "-", "-", "-", row.note ?? "not run", "-", "-"];
  const r = row.result;
  return [
    ...head,
    fmt(r.okPerSecond),
    fmt(r.ok.p50),
    fmt(r.ok.p99),
    statusSummary(r),
    rssCell(row.peakRss),
    row.cpuMsPerOp === undefined ? "-" : cpuCell(row.cpuMsPerOp),
  ];
}

const cpuCell = (ms: number) => (ms >= 10 ? ms.toFixed(1) : ms.toFixed(3));

/** The median of `values` (0 for none). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return 0;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** How many times cheaper in CPU `reference` is than `measured` (1.00: no overhead at all). */
export const cpuRatio = (reference: number | undefined, measured: number | undefined) =>
  reference && measured ? reference / measured : undefined;

const table = (header: string[], rows: string[][]) =>
  [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");

const rate = (row: Row | undefined) => row?.result?.okPerSecond ?? 0;

/** The floor's row for `operation` (bench/floor/server.ts), if this run measured it. */
export const floorRow = (rows: Row[], operation: "me" | "login") =>
  rows.find((r) => r.server === "floor" && r.operation === operation && r.result);

const FLOOR_LABELS = {
  me: "floor: verify the RS256 access token with jose and answer (Fastify, 1 process, no database)",
  login: "floor: login that only verifies argon2id and signs RS256 (Fastify, 1 process, no database)",
} as const;

function floorRows(rows: Row[]): string[][] {
  return (["login", "me"] as const).flatMap((operation) => {
    const floor = floorRow(rows, operation);
    if (!floor) return [];
    const cpu = floor.cpuMsPerOp === undefined ? "-" : cpuCell(floor.cpuMsPerOp);
    return [[FLOOR_LABELS[operation], String(floor.connections), fmt(floor.result!.okPerSecond), cpu]];
  });
}

export function find(
  rows: Row[],
  server: Row["server"],
  operation: Operation,
  engine: string,
  workers: number,
): Row | undefined {
  return rows.find(
    (r) => r.server === server && r.operation === operation && r.engine === engine && r.workers === workers && r.result,
  );
}

export const PEER_PAIRS: Array<[Operation, string]> = [
  ["login", "login vs email sign-in"],
  ["me", "GET /api/v1/me vs get-session"],
  ["refresh", "refresh vs get-session with session refresh"],
];

/** Warden on SQLite with the fewest workers measured (one, as better-auth, unless the run had none); null without better-auth rows. */
export function peerComparisonWorkers(rows: Row[]): number | null {
  if (!rows.some((r) => r.server === "better-auth" && r.result)) return null;
  const counts = rows.filter((r) => r.server === "Warden" && r.engine === "sqlite" && r.result).map((r) => r.workers);
  return counts.length ? Math.min(...counts) : null;
}

/**
 * API keys beside JWTs, per configuration, from rows measured back to back on the same server:
 * what a GET /api/v1/me costs with an API key against the same request with a Bearer JWT, and
 * how many introspections a resource server can ask for.
 */
function apiKeySection(rows: Row[], configs: Row[]): string[] {
  if (!rows.some((r) => r.server === "Warden" && (r.operation === "me-api-key" || r.operation === "introspect")))
    return [];
  const ms = (row: Row | undefined) => (row?.result ? fmt(row.result.ok.p50) : "-");
  return [
    "",
    "## API keys beside JWTs (same server, in alternation)",
    "",
    "The three scenarios ran in alternating short runs on the same server and connections (see the rows marked `alternating`), so a busy machine weighs on all three alike. API-key cost = JWT /me req/s / API-key /me req/s: how many JWT requests the server answers in the time of one API-key request (1.00: the same cost); by CPU = the server's CPU ms per API-key request / per JWT request, which a shared machine does not move.",
    "",
    table(
      [
        "engine",
        "workers",
        "JWT /me req/s (p50 ms)",
        "API-key /me req/s (p50 ms)",
        "API-key cost",
        "(by CPU per op)",
        "introspection req/s (p50 ms)",
      ],
      configs.map((c) => {
        const jwt = find(rows, "Warden", "me-jwt-paired", c.engine, c.workers);
        const key = find(rows, "Warden", "me-api-key", c.engine, c.workers);
        const introspect = find(rows, "Warden", "introspect", c.engine, c.workers);
        return [
          c.engine,
          String(c.workers),
          `${fmt(rate(jwt))} (${ms(jwt)})`,
          `${fmt(rate(key))} (${ms(key)})`,
          ratio(rate(jwt), rate(key)),
          cpuRatio(key?.cpuMsPerOp, jwt?.cpuMsPerOp)?.toFixed(2) ?? "n/a",
          `${fmt(rate(introspect))} (${ms(introspect)})`,
        ];
      }),
    ),
  ];
}

/** The whole report as Markdown: what the terminal prints and bench/results/latest.md holds. */
export function renderReport(report: Report): string {
  const { rows, physical } = report;
  const out: string[] = [];
  out.push(`# Warden benchmark`, "");
  out.push(
    `- When: ${report.startedAt.toISOString()}`,
    `- Machine: ${machine()}`,
    `- Command: \`${report.command}\``,
    "",
  );
  out.push("## Throughput and latency", "");
  out.push(
    "req/s counts successful passes (for MFA: login + verify, both answered 200); p50/p99 are their latencies in ms; errors counts every answer that was not a success, and socket errors; peak RSS is the sum over the server process and its children (cluster workers), in MB, with the largest single process in brackets.",
    "",
  );
  out.push(
    table(
      [
        "scenario",
        "engine",
        "workers",
        "connections",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors/non-2xx",
        "peak RSS MB (largest process)",
        "server CPU ms/op",
      ],
      rows.map(rowCells),
    ),
  );

  out.push("", "## Throughput against concurrency", "", "![throughput against concurrency](throughput.svg)", "");
  if (report.sweep.length > 0) {
    out.push("Extra points measured for the chart (shorter runs):", "");
    out.push(
      table(
        [
          "scenario",
          "engine",
          "workers",
          "connections",
          "req/s",
          "p50 ms",
          "p99 ms",
          "errors/non-2xx",
          "peak RSS MB (largest process)",
          "server CPU ms/op",
        ],
        report.sweep.map(rowCells),
      ),
    );
  }

  if (report.overload.length > 0) {
    out.push("", "## Overload", "");
    out.push("Login offered at ten times the rate measured in the login row of the same configuration.", "");
    out.push(
      table(
        [
          "engine",
          "workers",
          "connections",
          "sustainable/s",
          "offered/s",
          "accepted/s",
          "accepted p99 ms",
          "503s",
          "503 p99 ms",
          "503 with Retry-After",
          "other errors",
          "peak RSS MB (largest process)",
          "alive after",
        ],
        report.overload.map((o) => {
          const r = o.result;
          const other = r.errors - r.unavailable.count;
          return [
            o.engine,
            String(o.workers),
            String(o.connections),
            fmt(o.sustainableLoginsPerSecond),
            fmt(o.offeredPerSecond),
            fmt(r.okPerSecond),
            fmt(r.ok.p99),
            fmt(r.unavailable.count),
            fmt(r.unavailable.p99),
            fmt(r.unavailable.withRetryAfter),
            fmt(other),
            `${rssCell(o.peakRss)} (${o.loginPeakRss.totalMb})`,
            o.aliveAfter ? "yes" : "NO",
          ];
        }),
      ),
    );
  }

  out.push("", "## Against the physical limit", "");
  out.push(
    table(
      ["measure", "concurrency", "ops/s", "CPU ms/op"],
      [
        [
          "raw argon2id verify (@node-rs/argon2, m=19456 t=2 p=1" +
            (physical.argon2.poolThreads
              ? `; pool of ${physical.argon2.poolThreads} threads, the faster of 4 and one per core)`
              : ")"),
          String(physical.argon2.concurrency),
          fmt(physical.argon2.perSecond),
          cpuCell(physical.argon2.cpuMsPerOp),
        ],
        [
          "raw RS256 sign (node:crypto, 2048-bit key)",
          String(physical.sign.concurrency),
          fmt(physical.sign.perSecond),
          cpuCell(physical.sign.cpuMsPerOp),
        ],
        ...floorRows(rows),
      ],
    ),
  );
  out.push("");
  const configs = [
    ...new Map(rows.filter((r) => r.server === "Warden").map((r) => [`${r.engine}/${r.workers}`, r])).values(),
  ];
  const byCpu = (value: number | undefined) => (value === undefined ? "n/a" : value.toFixed(2));
  const loginFloor = floorRow(rows, "login");
  const meFloor = floorRow(rows, "me");
  out.push(
    table(
      [
        "engine",
        "workers",
        "login / raw argon2id",
        "(by CPU per op)",
        "login / login floor",
        "(by CPU per op)",
        "refresh / raw sign",
        "GET /api/v1/me / floor",
        "(by CPU per op)",
      ],
      configs.map((c) => {
        const login = find(rows, "Warden", "login", c.engine, c.workers);
        const refresh = rate(find(rows, "Warden", "refresh", c.engine, c.workers));
        const me = find(rows, "Warden", "me", c.engine, c.workers);
        return [
          c.engine,
          String(c.workers),
          ratio(rate(login), physical.argon2.perSecond),
          byCpu(cpuRatio(physical.argon2.cpuMsPerOp, login?.cpuMsPerOp)),
          ratio(rate(login), rate(loginFloor)),
          byCpu(cpuRatio(loginFloor?.cpuMsPerOp, login?.cpuMsPerOp)),
          ratio(refresh, physical.sign.perSecond),
          ratio(rate(me), rate(meFloor)),
          byCpu(cpuRatio(meFloor?.cpuMsPerOp, me?.cpuMsPerOp)),
        ];
      }),
    ),
  );
  out.push(
    "",
    "The rate ratios hold when the machine does nothing else; the CPU ratios (CPU the reference spends per " +
      "operation over CPU Warden spends, all threads and processes counted) also hold on a busy machine.",
  );
  if (loginFloor)
    out.push(
      "",
      `The login floor itself reaches ${ratio(rate(loginFloor), physical.argon2.perSecond)} of raw argon2id ` +
        `(${byCpu(cpuRatio(physical.argon2.cpuMsPerOp, loginFloor.cpuMsPerOp))} by CPU per op): what HTTP, JSON and the ` +
        "RS256 signature cost beside the hash, with the load generator on the same machine, before any database.",
    );
  if (report.startMs.length > 0)
    out.push(
      "",
      `Start to first answer on a fresh database (schema, first signing key, secret), ${report.startMs.length} starts: ` +
        `median ${median(report.startMs)} ms (${report.startMs.join(", ")} ms).`,
    );

  out.push(...apiKeySection(rows, configs));

  const peerWorkers = peerComparisonWorkers(rows);
  if (peerWorkers !== null) {
    out.push(
      "",
      `## Against better-auth (same machine, same run, SQLite; Warden with ${peerWorkers} worker process(es), better-auth with one)`,
      "",
    );
    out.push(
      table(
        ["operation", "Warden req/s", "better-auth req/s", "Warden / better-auth"],
        PEER_PAIRS.map(([operation, label]) => {
          const w = rate(find(rows, "Warden", operation, "sqlite", peerWorkers));
          const b = rate(find(rows, "better-auth", operation, "sqlite", 1));
          return [label, fmt(w), fmt(b), ratio(w, b)];
        }),
      ),
    );
  }

  if (report.notes.length > 0) out.push("", "## Notes", "", ...report.notes.map((n) => `- ${n}`));
  return out.join("\n") + "\n";
}
