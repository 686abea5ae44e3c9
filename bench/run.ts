/**
 * `npm run bench [-- --quick]`: Warden against the physical limit and against better-auth, in one
 * run on one machine. Prints a Markdown report and writes bench/results/latest.md and throughput.svg.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { renderChart } from "./chart.js";
import { startFloor } from "./floor/start.js";
import { runInterleaved, runLoad, type Step } from "./load.js";
import { enableMfa, type MfaUser } from "./mfa-users.js";
import { signInMany, startPeerTarget } from "./peer/target.js";
import { measureRawArgon2, measureRawSign } from "./physical.js";
import { parsePlan, type Plan } from "./plan.js";
import { renderReport, type Operation, type OverloadRow, type Report, type Row } from "./report.js";
import {
  peerGetSession,
  peerSignIn,
  wardenApiKeyMe,
  wardenIntrospect,
  wardenJwks,
  wardenLogin,
  wardenMe,
  wardenMfaLogin,
  wardenRefresh,
} from "./scenarios.js";
import { type ServerProcess } from "./server-process.js";
import {
  createApiKeys,
  hasRoute,
  loginMany,
  measureStart,
  startWardenTarget,
  type Session,
  type WardenTarget,
} from "./warden.js";
import { renderTargets } from "./targets.js";

const RESULTS = path.resolve(import.meta.dirname, "results");
const startedAt = performance.now();
const log = (message: string) =>
  console.error(`bench [${((performance.now() - startedAt) / 1000).toFixed(1)} s]: ${message}`);

type RowBase = Omit<Row, "result" | "peakRss" | "connections">;

/** Loads `server` with `steps` and records one row, with the server's peak memory meanwhile. */
async function measure(
  server: ServerProcess,
  base: RowBase,
  connections: number,
  seconds: number,
  steps: Step[],
): Promise<Row> {
  log(
    `${base.server} ${base.scenario} on ${base.engine}, ${base.workers} worker(s), ${connections} connections, ${seconds} s`,
  );
  server.resetPeakRss();
  const cpuBefore = server.cpuSeconds();
  const result = await runLoad({ url: server.url, connections, durationSeconds: seconds, steps });
  const cpuSeconds = server.cpuSeconds() - cpuBefore;
  const peakRss = server.peakRss();
  const passes = result.okPerSecond * result.durationSeconds;
  // Logins still queued for a hash when the run stopped finish within HASH_QUEUE_MAX_WAIT_MS (750 ms) and their hash:
  // let them, so they do not weigh on the next measurement.
  if (base.operation === "login" || base.operation === "mfa") await new Promise((resolve) => setTimeout(resolve, 1500));
  return { ...base, connections, result, peakRss, cpuMsPerOp: passes > 0 ? (cpuSeconds * 1000) / passes : undefined };
}

const unavailable = (base: RowBase, connections: number, note: string): Row => ({
  ...base,
  connections,
  result: null,
  peakRss: { totalMb: 0, largestMb: 0 },
  note,
});

async function benchWarden(plan: Plan, config: Plan["configs"][number], report: Report): Promise<void> {
  process.env.TEST_DATABASE_URL = plan.postgresUrl;
  log(`starting Warden on ${config.engine} with WORKERS=${config.workers}`);
  const target = await startWardenTarget({
    ...config,
    users: plan.users,
    mfaUsers: plan.mfaUsers,
    redisUrl: plan.redisUrl,
    profileDir: plan.profileDir,
  });
  const { engine, workers, server } = target;
  const base = (operation: Operation, scenario: string) => ({
    server: "Warden" as const,
    operation,
    scenario,
    engine,
    workers,
  });
  const c = plan.connections;
  const isSweep = plan.sweepConfig.engine === config.engine && plan.sweepConfig.workers === config.workers;
  try {
    const rows = report.rows;
    // Warm-up, not recorded: the first requests pay for JIT compilation and lazy loading.
    await runLoad({
      url: server.url,
      connections: c.login,
      durationSeconds: plan.warmupSeconds,
      steps: wardenLogin(target.emails),
    });
    const login = await measure(
      server,
      base("login", "login"),
      c.login,
      plan.durationSeconds,
      wardenLogin(target.emails),
    );
    rows.push(login);

    rows.push(await measureMfa(plan, target, base("mfa", "login + MFA verify")));

    const canRefresh = await hasRoute(target, "POST", "/api/auth/token/refresh");
    const canMe = await hasRoute(target, "GET", "/api/v1/me");
    // Refresh chains need one session per connection and 16 spares; /me shares 32 access tokens.
    const sessions = canRefresh || canMe ? await loginMany(target, c.refresh + 48) : [];
    if (canRefresh) {
      rows.push(
        await measure(
          server,
          base("refresh", "refresh"),
          c.refresh,
          plan.durationSeconds,
          wardenRefresh(sessions.slice(32)),
        ),
      );
    } else
      rows.push(
        unavailable(base("refresh", "refresh"), c.refresh, "no POST /api/auth/token/refresh on this build (404)"),
      );
    if (canMe)
      rows.push(
        await measure(
          server,
          base("me", "GET /api/v1/me"),
          c.me,
          plan.durationSeconds,
          wardenMe(sessions.slice(0, 32)),
        ),
      );
    else rows.push(unavailable(base("me", "GET /api/v1/me"), c.me, "no GET /api/v1/me on this build (404)"));
    // Right after the JWT row, on the same server and connections: the two are compared as a ratio.
    if (canMe) rows.push(...(await measureApiKeys(plan, target, sessions.slice(0, 32), base)));
    // The floors are the same for every configuration: measured once, right after Warden's first /me row.
    if (canMe && !rows.some((r) => r.server === "floor")) rows.push(...(await measureFloors(plan, target, sessions)));
    rows.push(await measure(server, base("jwks", "JWKS"), c.jwks, plan.durationSeconds, wardenJwks()));

    if (isSweep) {
      for (const n of plan.sweep.login)
        report.sweep.push(
          await measure(server, base("login", "login"), n, plan.sweepSeconds, wardenLogin(target.emails)),
        );
      for (const n of canRefresh ? plan.sweep.refresh : []) {
        const fresh = await loginMany(target, n + 16);
        report.sweep.push(
          await measure(server, base("refresh", "refresh"), n, plan.sweepSeconds, wardenRefresh(fresh)),
        );
      }
      for (const n of canMe ? plan.sweep.me : [])
        report.sweep.push(
          await measure(server, base("me", "GET /api/v1/me"), n, plan.sweepSeconds, wardenMe(sessions.slice(0, 32))),
        );
      if (login.result) report.overload.push(await measureOverload(plan, target, login));
    }
    if (!server.isAlive())
      report.notes.push(
        `Warden (${engine}, ${workers} worker(s)) exited during the run:\n\n\`\`\`\n${server.output()}\n\`\`\``,
      );
  } finally {
    await target.close();
  }
}

/**
 * GET /api/v1/me with API keys and POST /api/auth/introspect, each beside GET /api/v1/me with a
 * JWT: the three run in alternation (rounds of short runs, merged), on the JWT row's connections.
 * The keys are made through the API by the /me row's users and never revoked, so every
 * introspection answers `active: true`.
 */
async function measureApiKeys(
  plan: Plan,
  target: WardenTarget,
  sessions: Session[],
  base: (operation: Operation, scenario: string) => RowBase,
): Promise<Row[]> {
  const bases = {
    jwt: base("me-jwt-paired", "GET /api/v1/me (JWT, alternating)"),
    key: base("me-api-key", "GET /api/v1/me (API key, alternating)"),
    introspect: base("introspect", "POST /api/auth/introspect (alternating)"),
  };
  const connections = plan.connections.me;
  log(`creating ${plan.apiKeys} API keys`);
  const keys = await createApiKeys(target, sessions, plan.apiKeys);
  if (!keys) {
    const note = "no POST /api/v1/api-tokens on this build (404)";
    return Object.values(bases).map((b) => unavailable(b, connections, note));
  }
  const rounds = plan.quick ? 2 : 4;
  const sliceSeconds = Math.max(1, Math.round(plan.durationSeconds / rounds));
  log(
    `JWT /me, API-key /me and introspection in ${rounds} alternating rounds of ${sliceSeconds} s, ${connections} connections`,
  );
  target.server.resetPeakRss();
  const results = await runInterleaved({
    url: target.server.url,
    connections,
    rounds,
    sliceSeconds,
    scenarios: {
      jwt: wardenMe(sessions),
      key: wardenApiKeyMe(keys),
      introspect: wardenIntrospect(target.introspectionSecret, keys),
    },
    cpuSeconds: () => target.server.cpuSeconds(),
  });
  const peakRss = target.server.peakRss();
  return (["jwt", "key", "introspect"] as const).map((name) => {
    const { result, cpuSeconds } = results[name];
    const passes = result.ok.count;
    return {
      ...bases[name],
      connections,
      result,
      peakRss,
      cpuMsPerOp: cpuSeconds !== undefined && passes > 0 ? (cpuSeconds * 1000) / passes : undefined,
    };
  });
}

/**
 * The floors (bench/floor/server.ts), one process: GET /api/v1/me verifying the same access tokens
 * with jose and answering, loaded exactly like Warden's GET /api/v1/me row; then POST /api/auth
 * hashing and signing and nothing else, loaded exactly like Warden's login row.
 */
async function measureFloors(plan: Plan, target: WardenTarget, sessions: Session[]): Promise<Row[]> {
  const base = (operation: "me" | "login", scenario: string) => ({
    server: "floor" as const,
    operation,
    scenario,
    engine: "-",
    workers: 1,
  });
  log("starting the floors: JWT verification, and a login that only hashes and signs");
  const floor = await startFloor(target, plan.profileDir);
  try {
    const rows: Row[] = [];
    for (const [operation, scenario, connections, steps] of [
      ["me", "GET /api/v1/me (floor)", plan.connections.me, wardenMe(sessions.slice(0, 32))],
      ["login", "login (floor)", plan.connections.login, wardenLogin(target.emails)],
    ] as const) {
      await runLoad({ url: floor.url, connections, durationSeconds: plan.warmupSeconds, steps });
      rows.push(await measure(floor, base(operation, scenario), connections, plan.durationSeconds, steps));
    }
    return rows;
  } finally {
    await floor.stop();
  }
}

async function measureMfa(plan: Plan, target: WardenTarget, base: RowBase): Promise<Row> {
  const auth = { authorization: "Bearer none" };
  if (
    !(await hasRoute(target, "POST", "/api/v1/me/mfa/totp/setup", auth)) ||
    !(await hasRoute(target, "POST", "/api/auth/mfa/verify"))
  ) {
    return unavailable(base, plan.connections.mfa, "no TOTP setup or MFA verify endpoint on this build (404)");
  }
  const users: MfaUser[] = await enableMfa(target);
  return measure(target.server, base, plan.connections.mfa, plan.durationSeconds, wardenMfaLogin(users));
}

/**
 * Offers ten times the sustainable login rate. Warden's hash gate should answer what it cannot
 * start within a second with 503 + Retry-After, and keep the accepted logins under a second.
 */
async function measureOverload(plan: Plan, target: WardenTarget, login: Row): Promise<OverloadRow> {
  const sustainable = login.result!.okPerSecond;
  const offered = Math.max(10, Math.round(sustainable * 10));
  const connections = Math.min(plan.overloadMaxConnections, Math.max(plan.connections.login * 10, offered));
  log(`overload: ${offered} logins/s offered over ${connections} connections, ${plan.overloadSeconds} s`);
  target.server.resetPeakRss();
  const result = await runLoad({
    url: target.server.url,
    connections,
    durationSeconds: plan.overloadSeconds,
    overallRate: offered,
    steps: wardenLogin(target.emails),
  });
  const peakRss = target.server.peakRss();
  let aliveAfter = target.server.isAlive();
  if (aliveAfter)
    aliveAfter =
      (await fetch(`${target.server.url}/readyz`)
        .then((r) => r.status)
        .catch(() => 0)) === 200;
  return {
    engine: target.engine,
    workers: target.workers,
    connections,
    sustainableLoginsPerSecond: sustainable,
    loginPeakRss: login.peakRss,
    offeredPerSecond: offered,
    result,
    peakRss,
    aliveAfter,
  };
}

/** better-auth beside Warden: sign-in, get-session (read), get-session with session refresh. */
async function benchPeer(plan: Plan, report: Report): Promise<void> {
  let peer;
  log("starting better-auth");
  try {
    peer = await startPeerTarget(plan.users, plan.profileDir);
  } catch (error) {
    report.notes.push(`better-auth could not be started: ${error instanceof Error ? error.message : String(error)}`);
    return;
  }
  const base = (operation: Operation, scenario: string) => ({
    server: "better-auth" as const,
    operation,
    scenario,
    engine: "sqlite",
    workers: 1,
  });
  const c = plan.connections;
  try {
    await runLoad({
      url: peer.server.url,
      connections: c.login,
      durationSeconds: plan.warmupSeconds,
      steps: peerSignIn(peer.server.url, peer.emails),
    });
    report.rows.push(
      await measure(
        peer.server,
        base("login", "email sign-in"),
        c.login,
        plan.durationSeconds,
        peerSignIn(peer.server.url, peer.emails),
      ),
    );
    const cookies = await signInMany(peer, 32);
    report.rows.push(
      await measure(peer.server, base("me", "get-session"), c.me, plan.durationSeconds, peerGetSession(cookies, false)),
    );
    report.rows.push(
      await measure(
        peer.server,
        base("refresh", "get-session + refresh"),
        c.refresh,
        plan.durationSeconds,
        peerGetSession(cookies, true),
      ),
    );
  } finally {
    await peer.close();
  }
}

async function main(): Promise<number> {
  const plan = parsePlan(process.argv.slice(2));
  if (!plan) return 0;
  const report: Report = {
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
    startedAt: new Date(),
    rows: [],
    sweep: [],
    overload: [],
    physical: {
      argon2: { concurrency: plan.connections.login, perSecond: 0, cpuMsPerOp: 0 },
      sign: { concurrency: plan.connections.refresh, perSecond: 0, cpuMsPerOp: 0 },
    },
    startMs: [],
    notes: [],
  };

  log(`raw argon2id verify at concurrency ${plan.connections.login}`);
  Object.assign(report.physical.argon2, await measureRawArgon2(plan.connections.login, plan.durationSeconds));
  log(`raw RS256 sign at concurrency ${plan.connections.refresh}`);
  Object.assign(report.physical.sign, await measureRawSign(plan.connections.refresh, plan.durationSeconds));
  log("start to first answer on a fresh database");
  report.startMs = await measureStart(plan.quick ? 3 : 5);

  for (const config of plan.configs) await benchWarden(plan, config, report);
  if (plan.peer) await benchPeer(plan, report);

  report.notes.push(`Whole run: ${Math.round((performance.now() - startedAt) / 1000)} s.`);
  const markdown = renderReport(report) + renderTargets(report);
  console.log(markdown);
  fs.mkdirSync(RESULTS, { recursive: true });
  fs.writeFileSync(path.join(RESULTS, "latest.md"), markdown);
  const caption = `${report.startedAt.toISOString().slice(0, 16)}Z, ${os.availableParallelism()} cores, ${report.command}`;
  fs.writeFileSync(path.join(RESULTS, "throughput.svg"), renderChart([...report.rows, ...report.sweep], caption));
  log(`wrote ${path.relative(process.cwd(), RESULTS)}/latest.md and throughput.svg`);
  return 0;
}

process.exitCode = await main();
