import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";

/** A server the harness started as its own process, listening on a real socket. */
export interface ServerProcess {
  url: string;
  pid: number;
  /** Peak resident memory since the last reset: of the process and its children together, and of the largest one. */
  peakRss(): Rss;
  resetPeakRss(): void;
  /** User + system CPU seconds used so far by the process and its children (cluster workers). */
  cpuSeconds(): number;
  isAlive(): boolean;
  /** From spawn to the first 200 on `readyPath`, in ms (to the poll interval). */
  readyAfterMs: number;
  /** The last lines it wrote, for error reports. */
  output(): string;
  stop(): Promise<void>;
}

export interface Rss {
  totalMb: number;
  largestMb: number;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** VmRSS of one process in kB, 0 when it is gone. */
function rssKb(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** The process and every descendant (cluster workers), from /proc. */
export function processTree(root: number): number[] {
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    let children = "";
    try {
      children = fs.readFileSync(`/proc/${tree[i]}/task/${tree[i]}/children`, "utf8");
    } catch {
      continue;
    }
    for (const child of children.trim().split(/\s+/).filter(Boolean)) tree.push(Number(child));
  }
  return tree;
}

function treeRss(root: number): Rss {
  const each = processTree(root).map(rssKb);
  return {
    totalMb: Math.round(each.reduce((a, b) => a + b, 0) / 1024),
    largestMb: Math.round(Math.max(0, ...each) / 1024),
  };
}

/** User + system CPU time in clock ticks of a `/proc/.../stat` file (fields 14 and 15), or null once it is gone. */
function statTicks(path: string): number | null {
  try {
    const fields = fs.readFileSync(path, "utf8").split(") ")[1]!.split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/** User + system CPU time of each process, in clock ticks. */
export function cpuTicks(pids: number[]): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const pid of pids) {
    const t = statTicks(`/proc/${pid}/stat`);
    if (t !== null) ticks.set(pid, t);
  }
  return ticks;
}

/** CPU clock ticks of a process's main thread (tid = pid) and of all its other threads together. */
export function threadTicks(pid: number): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    const t = statTicks(`/proc/${pid}/task/${tid}/stat`) ?? 0;
    if (tid === String(pid)) main += t;
    else others += t;
  }
  return { main, others };
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on every Linux Node supports). */
export const TICKS_PER_SECOND = 100;

const SAMPLE_MS = 100;
const OUTPUT_LINES = 40;

/** Starts `args` with `env`, waits until `readyPath` answers 200, and samples its memory meanwhile. */
export async function startServer(options: {
  args: string[];
  /** Write a V8 CPU profile of every process of the server into this folder when it exits. */
  profileDir?: string | null;
  cwd?: string;
  env: Record<string, string>;
  port: number;
  readyPath: string;
  timeoutMs?: number;
  /** How often readiness is polled; the start-time measurement polls every 10 ms. */
  pollMs?: number;
}): Promise<ServerProcess> {
  const spawnedAt = performance.now();
  const profile = options.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${options.profileDir}`] : [];
  const child: ChildProcess = spawn(process.execPath, [...profile, ...options.args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env, PORT: String(options.port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    if (lines.length > OUTPUT_LINES) lines.splice(0, lines.length - OUTPUT_LINES);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  let exited = false;
  child.once("exit", () => (exited = true));

  const pid = child.pid!;
  let peak: Rss = { totalMb: 0, largestMb: 0 };
  const sample = () => {
    const now = treeRss(pid);
    peak = { totalMb: Math.max(peak.totalMb, now.totalMb), largestMb: Math.max(peak.largestMb, now.largestMb) };
    return peak;
  };
  const sampler = setInterval(sample, SAMPLE_MS);
  sampler.unref();

  const url = `http://127.0.0.1:${options.port}`;
  const server: ServerProcess = {
    url,
    pid,
    peakRss: sample,
    resetPeakRss: () => (peak = treeRss(pid)),
    cpuSeconds: () => [...cpuTicks(processTree(pid)).values()].reduce((a, b) => a + b, 0) / TICKS_PER_SECOND,
    readyAfterMs: 0,
    isAlive: () => !exited,
    output: () => lines.join("\n"),
    async stop() {
      clearInterval(sampler);
      if (exited) return;
      const gone = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await gone;
      clearTimeout(timer);
    },
  };

  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (exited) throw new Error(`server exited before it was ready:\n${server.output()}`);
    try {
      const response = await fetch(url + options.readyPath);
      if (response.ok) {
        server.readyAfterMs = Math.round(performance.now() - spawnedAt);
        return server;
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 200));
  }
  await server.stop();
  throw new Error(`server not ready after ${options.timeoutMs ?? 60_000} ms:\n${server.output()}`);
}
