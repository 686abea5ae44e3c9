import { workersFor } from "../src/config.js";
import { cpuRatio, find, floorRow, median, peerComparisonWorkers, type Report, type Row } from "./report.js";

interface Check {
  target: string;
  measured: string;
  /** null when this run did not measure it. */
  met: boolean | null;
}

const rate = (row: Row | undefined) => row?.result?.okPerSecond;
const x = (value: number) => `${value.toFixed(2)}x`;

/** The issue's targets, read off this run's figures. Reported, never asserted: the exit code ignores them. */
export function checkTargets(report: Report): Check[] {
  const { rows, physical } = report;
  const checks: Check[] = [];
  const warden = rows.filter((r) => r.server === "Warden" && r.operation === "login" && r.result);
  // What a login that only hashes and signs reaches on this machine (bench/floor/server.ts), beside each login ratio.
  const loginFloor = floorRow(rows, "login");
  const floorBeside = (value: number | undefined) => (value === undefined ? "" : ` (the login floor: ${x(value)})`);

  for (const row of warden) {
    const value = row.result!.okPerSecond / physical.argon2.perSecond;
    checks.push({
      target: `login >= 0.9x raw argon2id (${row.engine}, ${row.workers}w)`,
      measured: x(value) + floorBeside(loginFloor && rate(loginFloor)! / physical.argon2.perSecond),
      met: value >= 0.9,
    });
    const rss = row.peakRss;
    const measured =
      row.workers > 1 ? `${rss.totalMb} MB in all, ${rss.largestMb} MB the largest process` : `${rss.totalMb} MB`;
    checks.push({
      target: `server RSS <= 150 MB per worker during login (${row.engine}, ${row.workers}w)`,
      measured,
      met: rss.largestMb <= 150,
    });
  }
  const absolute = (label: string, operation: "refresh" | "me", engine: "sqlite" | "postgres", minimum: number) => {
    const value = rate(find(rows, "Warden", operation, engine, workersFor("auto", engine)));
    checks.push({
      target: `${label} >= ${minimum}/s (${engine}, WORKERS=auto)`,
      measured: value === undefined ? "not measured" : `${value}/s`,
      met: value === undefined ? null : value >= minimum,
    });
  };
  absolute("refresh", "refresh", "sqlite", 1000);
  absolute("GET /api/v1/me", "me", "sqlite", 5000);
  absolute("refresh", "refresh", "postgres", 600);

  for (const row of warden) {
    const value = cpuRatio(physical.argon2.cpuMsPerOp, row.cpuMsPerOp);
    checks.push({
      target: `login >= 0.9x raw argon2id by CPU per op (${row.engine}, ${row.workers}w)`,
      measured:
        value === undefined
          ? "not measured"
          : x(value) + floorBeside(cpuRatio(physical.argon2.cpuMsPerOp, loginFloor?.cpuMsPerOp)),
      met: value === undefined ? null : value >= 0.9,
    });
  }
  for (const engine of ["sqlite", "postgres"] as const) {
    const one = rate(find(rows, "Warden", "refresh", engine, 1));
    const autoWorkers = workersFor("auto", engine);
    if (autoWorkers === 1) {
      // `auto` runs one process here (src/config.ts): the target holds by construction; a run
      // that measured more processes shows why.
      const more = rows.find(
        (r) => r.server === "Warden" && r.operation === "refresh" && r.engine === engine && r.workers > 1,
      );
      checks.push({
        target: `refresh with WORKERS=auto >= with one worker (${engine})`,
        measured: `auto runs one process on ${engine}${more?.result && one !== undefined ? `; ${more.workers} processes: ${rate(more)}/s against ${one}/s` : ""}`,
        met: true,
      });
      continue;
    }
    const auto = rate(find(rows, "Warden", "refresh", engine, autoWorkers));
    if (one === undefined || auto === undefined) continue;
    checks.push({
      target: `refresh with WORKERS=auto >= with one worker (${engine})`,
      measured: `${auto}/s against ${one}/s`,
      met: auto >= one,
    });
  }
  if (report.startMs.length > 0) {
    const value = median(report.startMs);
    checks.push({
      target: "start to first answer on a fresh database < 1 s (median)",
      measured: `${value} ms`,
      met: value < 1000,
    });
  }

  const meFloor = floorRow(rows, "me");
  const floor = rate(meFloor) ?? 0;
  for (const row of rows.filter((r) => r.server === "Warden" && r.operation === "me" && r.workers === 1 && r.result)) {
    const value = floor > 0 ? row.result!.okPerSecond / floor : undefined;
    checks.push({
      target: `GET /api/v1/me >= 0.6x the floor (${row.engine}, 1w)`,
      measured: value === undefined ? "not measured" : x(value),
      met: value === undefined ? null : value >= 0.6,
    });
    const byCpu = cpuRatio(meFloor?.cpuMsPerOp, row.cpuMsPerOp);
    checks.push({
      target: `GET /api/v1/me >= 0.6x the floor by CPU per op (${row.engine}, 1w)`,
      measured: byCpu === undefined ? "not measured" : x(byCpu),
      met: byCpu === undefined ? null : byCpu >= 0.6,
    });
  }

  for (const jwt of rows.filter((r) => r.server === "Warden" && r.operation === "me-jwt-paired" && r.result)) {
    const key = find(rows, "Warden", "me-api-key", jwt.engine, jwt.workers);
    const byRate = rate(key) ? jwt.result!.okPerSecond / rate(key)! : undefined;
    // Judged by the server's CPU per request where measured (a shared machine does not move it), else by rate.
    const byCpu = key?.cpuMsPerOp && jwt.cpuMsPerOp ? key.cpuMsPerOp / jwt.cpuMsPerOp : undefined;
    const cost = byCpu ?? byRate;
    checks.push({
      target: `an API-key GET /api/v1/me costs <= 1.5x a JWT one (${jwt.engine}, ${jwt.workers}w)`,
      measured:
        cost === undefined
          ? "not measured"
          : `${x(cost)}${byCpu !== undefined && byRate !== undefined ? ` by CPU per request (${x(byRate)} by rate)` : ""}`,
      met: cost === undefined ? null : cost <= 1.5,
    });
  }
  const introspectRow = find(rows, "Warden", "introspect", "sqlite", 1);
  const introspection = rate(introspectRow);
  // Beside the rate, what its CPU per request allows one core (a worker's event loop) on an idle machine.
  const ceiling = introspectRow?.cpuMsPerOp
    ? `; ${Math.round(1000 / introspectRow.cpuMsPerOp)}/s by server CPU per request`
    : "";
  checks.push({
    target: "introspection >= 3000/s (sqlite, 1 worker)",
    measured: introspection === undefined ? "not measured" : `${introspection}/s${ceiling}`,
    met: introspection === undefined ? null : introspection >= 3000,
  });

  const peerWorkers = peerComparisonWorkers(rows);
  for (const [operation, label, minimum] of [
    ["login", "login", 1],
    ["refresh", "session refresh", 2],
    ["me", "session retrieval", 2],
  ] as const) {
    const w = peerWorkers === null ? undefined : rate(find(rows, "Warden", operation, "sqlite", peerWorkers));
    const b = rate(find(rows, "better-auth", operation, "sqlite", 1));
    const known = w !== undefined && b !== undefined && b > 0;
    checks.push({
      target: `${label} >= ${minimum}x better-auth`,
      measured: known ? x(w / b) : "not measured",
      met: known ? w / b >= minimum : null,
    });
  }
  for (const o of report.overload) {
    const r = o.result;
    // "Bounded": within half again of what the same server held at the sustainable rate.
    const bounded = o.peakRss.totalMb <= o.loginPeakRss.totalMb * 1.5;
    const ok =
      r.ok.p99 < 1000 &&
      r.unavailable.count > 0 &&
      r.unavailable.p99 < 1000 &&
      r.unavailable.withRetryAfter === r.unavailable.count &&
      bounded &&
      o.aliveAfter;
    checks.push({
      target:
        "overload (10x): accepted p99 < 1 s, the rest 503 + Retry-After with p99 < 1 s, RSS <= 1.5x the login row, alive",
      measured: `accepted p99 ${r.ok.p99} ms, ${r.unavailable.count} x 503 (p99 ${r.unavailable.p99} ms, ${r.unavailable.withRetryAfter} with Retry-After), ${o.peakRss.totalMb} MB (login row ${o.loginPeakRss.totalMb} MB), ${o.aliveAfter ? "alive" : "DEAD"}`,
      met: ok,
    });
  }
  return checks;
}

export function renderTargets(report: Report): string {
  const lines = [
    "",
    "## Targets from the issue (reported, not asserted)",
    "",
    "| target | measured | met |",
    "|---|---|---|",
  ];
  for (const c of checkTargets(report))
    lines.push(`| ${c.target} | ${c.measured} | ${c.met === null ? "-" : c.met ? "yes" : "**no**"} |`);
  return lines.join("\n") + "\n";
}
