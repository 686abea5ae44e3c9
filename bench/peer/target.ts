import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { call, forEachLimited } from "../http-call.js";
import { freePort, startServer, type ServerProcess } from "../server-process.js";
import { BENCH_PASSWORD } from "../warden.js";

export interface PeerTarget {
  server: ServerProcess;
  emails: string[];
  close(): Promise<void>;
}

const ROOT = path.resolve(import.meta.dirname, "../..");
export const peerEmail = (i: number) => `peer-${i}@bench.test`;

/** better-auth in its own process (bench/peer/server.ts) on a fresh SQLite file. */
export async function startPeerTarget(users: number, profileDir: string | null = null): Promise<PeerTarget> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "better-auth-bench-"));
  const server = await startServer({
    args: ["--import", "tsx", path.join(ROOT, "bench/peer/server.ts")],
    cwd: ROOT,
    env: {
      NODE_ENV: "production",
      PEER_DB: path.join(dir, "peer.db"),
      PEER_USERS: String(users),
      PEER_PASSWORD: BENCH_PASSWORD,
      BETTER_AUTH_SECRET: crypto.randomBytes(32).toString("base64url"),
    },
    port: await freePort(),
    readyPath: "/api/auth/ok",
    profileDir,
  });
  return {
    server,
    emails: Array.from({ length: users }, (_, i) => peerEmail(i)),
    async close() {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Signs `count` users in and returns their session cookies (`better-auth.session_token=...`). */
export async function signInMany(peer: PeerTarget, count: number): Promise<string[]> {
  return forEachLimited(count, 8, async (i) => {
    const email = peer.emails[i % peer.emails.length]!;
    const response = await call(`${peer.server.url}/api/auth/sign-in/email`, {
      body: { email, password: BENCH_PASSWORD },
      headers: { origin: peer.server.url },
    });
    const cookie = /better-auth\.session_token=[^;]+/.exec(response.headers.get("set-cookie") ?? "")?.[0];
    if (response.status !== 200 || !cookie)
      throw new Error(`better-auth sign-in of ${email} answered ${response.status}: ${JSON.stringify(response.body)}`);
    return cookie;
  });
}
