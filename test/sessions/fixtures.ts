import { after } from "node:test";
import type { EngineUnderTest } from "../helpers/engines.js";
import { FixedClock, postJson, startWarden, withBearer, type Warden } from "../helpers/warden.js";

/** Limits out of the way: these suites send many requests from one address on purpose. */
export const GENEROUS_LIMITS = { LOGIN_RATE_LIMIT: "10000/60", REFRESH_RATE_LIMIT: "10000/60" };

export interface SessionsWarden extends Warden {
  clock: FixedClock;
}

async function startSessionsWarden(engine: EngineUnderTest, env: Record<string, string>): Promise<SessionsWarden> {
  const clock = new FixedClock();
  return { ...(await startWarden({ engine, clock, env: { ...GENEROUS_LIMITS, ...env } })), clock };
}

/** A Warden on a fresh database of `engine` with a fixed clock; always closed afterwards. */
export async function withWarden(
  engine: EngineUnderTest,
  env: Record<string, string>,
  run: (w: SessionsWarden) => Promise<void>,
): Promise<void> {
  const w = await startSessionsWarden(engine, env);
  try {
    await run(w);
  } finally {
    await w.close();
  }
}

/**
 * One Warden per engine for all the tests of a file that need no special settings (each uses
 * its own users), started on first use and closed after the file: a start costs about a second.
 */
export function sharedWarden(engine: EngineUnderTest): (run: (w: SessionsWarden) => Promise<void>) => Promise<void> {
  let started: Promise<SessionsWarden> | undefined;
  after(async () => {
    if (started) await (await started).close();
  });
  return async (run) => run(await (started ??= startSessionsWarden(engine, {})));
}

export const refresh = (w: Warden, refreshToken: unknown, url = "/api/auth/token/refresh") =>
  postJson(w.app, url, { refresh_token: refreshToken });
export const logout = (w: Warden, refreshToken: unknown) =>
  postJson(w.app, "/api/auth/logout", { refresh_token: refreshToken });

export { withBearer };

export const getMe = (w: Warden, token: string) => withBearer(w, token, { method: "GET", url: "/api/v1/me" });

/** Event types recorded for a user, oldest first. */
export async function eventTypes(w: Warden, userId: string): Promise<string[]> {
  const events = await w.deps.events.listForUser(userId, 1000);
  return events.reverse().map((e) => e.type);
}
