/** What every test that logs in shares: one password, one login, one supply of fresh client addresses. */
import assert from "node:assert/strict";
import { postJson, type Warden } from "./warden.js";

/** The password of every test user, unless a test is about passwords themselves. */
export const PASSWORD = "correct horse battery staple";

let lastIp = 0;
/** A client address no earlier call returned, so per-IP limits bite only where a test means them to. */
export function freshIp(): string {
  const n = ++lastIp;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

export interface LoginOptions {
  /** The client's address; a fresh one unless given. */
  ip?: string;
  headers?: Record<string, string>;
}

/** POST /api/auth as a client sends it; the response as the client sees it (status, body, raw). */
export const postLogin = (w: Warden, email: string, password: string = PASSWORD, options: LoginOptions = {}) =>
  postJson(w.app, "/api/auth", { email, password }, options.headers ?? {}, { remoteAddress: options.ip ?? freshIp() });

/** Logs in and returns the token pair; fails the test on anything but a 200 with both tokens. */
export async function login(
  w: Warden,
  email: string,
  password: string = PASSWORD,
  options: LoginOptions = {},
): Promise<{ token: string; refresh_token: string }> {
  const r = await postLogin(w, email, password, options);
  assert.equal(r.status, 200, r.raw);
  assert.ok(r.body.token && r.body.refresh_token, `login returned no token pair: ${r.raw}`);
  return r.body;
}
