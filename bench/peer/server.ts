/**
 * The peer: better-auth on SQLite (better-sqlite3) with email and password, hashing with the same
 * argon2id library and parameters as Warden, served by node:http on a real socket. The harness
 * starts it as its own process, like Warden. Environment: PORT, PEER_DB (file), PEER_USERS,
 * PEER_PASSWORD, BETTER_AUTH_SECRET.
 */
import http from "node:http";
import * as argon2 from "@node-rs/argon2";
import SQLite from "better-sqlite3";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import { OWASP_ARGON2ID } from "../../src/hashing/passwords.js";

const ARGON2 = { algorithm: argon2.Algorithm.Argon2id, ...OWASP_ARGON2ID };

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

// The same SQLite settings as Warden's (src/storage/database.ts), so the file is not what differs.
const database = new SQLite(env("PEER_DB"));
database.pragma("journal_mode = WAL");
database.pragma("synchronous = NORMAL");
database.pragma("busy_timeout = 5000");

const options = {
  baseURL: `http://127.0.0.1:${env("PORT")}`,
  secret: env("BETTER_AUTH_SECRET"),
  database,
  emailAndPassword: {
    enabled: true,
    password: {
      hash: (password: string) => argon2.hash(password, ARGON2),
      verify: ({ hash, password }: { hash: string; password: string }) => argon2.verify(hash, password),
    },
  },
  // updateAge 0: every get-session without ?disableRefresh=true extends the session (better-auth's
  // session refresh: a database write and a new cookie), so refresh can be measured on its own.
  session: { updateAge: 0 },
  // better-auth's own per-IP limiter stays on, as Warden's does; the load spreads over
  // X-Forwarded-For addresses for both.
  rateLimit: { enabled: true },
  telemetry: { enabled: false },
  logger: { disabled: true },
};

const auth = betterAuth(options);

async function seedUsers(count: number, password: string): Promise<void> {
  const context = await auth.$context;
  // One hash for everyone: verifying it costs what any user's costs, and seeding stays fast.
  const passwordHash = await argon2.hash(password, ARGON2);
  for (let i = 0; i < count; i++) {
    const email = `peer-${i}@bench.test`;
    if (await context.internalAdapter.findUserByEmail(email)) continue;
    const user = await context.internalAdapter.createUser(
      { email, name: `Peer ${i}`, emailVerified: true },
      { method: "email-password" },
    );
    await context.internalAdapter.linkAccount({
      userId: user.id,
      providerId: "credential",
      accountId: user.id,
      password: passwordHash,
    });
  }
}

const { runMigrations } = await getMigrations(options);
await runMigrations();
await seedUsers(Number(env("PEER_USERS")), env("PEER_PASSWORD"));

const server = http.createServer(toNodeHandler(auth));
server.keepAliveTimeout = 65_000;
server.listen(Number(env("PORT")), "127.0.0.1");
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
