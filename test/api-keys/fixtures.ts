import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after } from "node:test";
import { Secret, TOTP } from "otpauth";
import { createUser } from "../../src/domain/accounts/lifecycle.js";
import type { EngineUnderTest } from "../helpers/engines.js";
import { FixedClock, postJson, resultOf, startWarden, type StartOptions, type Warden } from "../helpers/warden.js";

export const PASSWORD = "correct horse battery";
export const INTROSPECTION_SECRET = "introspection-secret-0123456789-abcdef";

/** The catalogue every suite here uses: one scope only admins may grant. */
export const SCOPES = [
  { value: "invoices:read", label: "Read invoices", category: "Invoices" },
  { value: "invoices:write", label: "Write invoices", category: "Invoices" },
  { value: "admin:all", label: "Everything", category: "Administration", roles: ["ROLE_ADMIN"] },
];

const scopesDir = fs.mkdtempSync(path.join(os.tmpdir(), "warden-scopes-"));
export const SCOPES_FILE = path.join(scopesDir, "scopes.json");
fs.writeFileSync(SCOPES_FILE, JSON.stringify(SCOPES));
after(() => fs.rmSync(scopesDir, { recursive: true, force: true }));

export const KEY_ENV = {
  API_KEY_SCOPES_FILE: SCOPES_FILE,
  INTROSPECTION_SECRET,
  LOGIN_RATE_LIMIT: "10000/60",
  REFRESH_RATE_LIMIT: "10000/60",
};

export interface KeyWarden extends Warden {
  clock: FixedClock;
}

export async function startKeyWarden(
  options: Omit<StartOptions, "clock"> & { clock?: FixedClock } = {},
): Promise<KeyWarden> {
  const clock = options.clock ?? new FixedClock();
  const w = await startWarden({ ...options, clock, env: { ...KEY_ENV, ...options.env } });
  return { ...w, clock };
}

export async function withKeyWarden(
  engine: EngineUnderTest,
  run: (w: KeyWarden) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  const w = await startKeyWarden({ engine, env });
  try {
    await run(w);
  } finally {
    await w.close();
  }
}

export async function loginAs(w: Warden, email: string) {
  const response = await postJson(w.app, "/api/auth", { email, password: PASSWORD });
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${response.raw}`);
  return { token: response.body.token as string, refreshToken: response.body.refresh_token as string };
}

export async function userWithToken(w: Warden, email: string, roles: string[] = []) {
  const user = await createUser(w.deps, { email, password: PASSWORD, confirmed: true, active: true, roles });
  return { user, ...(await loginAs(w, email)) };
}

/** A request authenticated by an exact Authorization header value. */
export async function call(
  w: Warden,
  authorization: string | undefined,
  method: "GET" | "POST" | "PATCH" | "DELETE",
  url: string,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
) {
  const headers: Record<string, string> = { ...extraHeaders };
  if (authorization !== undefined) headers.authorization = authorization;
  if (body !== undefined) headers["content-type"] = "application/json";
  return resultOf(
    await w.app.inject({ method, url, headers, payload: body === undefined ? undefined : JSON.stringify(body) }),
  );
}

export const bearer = (token: string) => `Bearer ${token}`;

export async function createKey(w: Warden, token: string, body: Record<string, unknown> = {}) {
  const response = await call(w, bearer(token), "POST", "/api/v1/api-tokens", {
    name: "ci",
    scopes: ["invoices:read"],
    ...body,
  });
  if (response.status !== 201) throw new Error(`create failed: ${response.status} ${response.raw}`);
  return response.body as { id: string; token: string; tokenPrefix: string } & Record<string, unknown>;
}

export const introspect = (w: Warden, token: unknown, secret = INTROSPECTION_SECRET) =>
  call(w, bearer(secret), "POST", "/api/auth/introspect", { token });

/** Turns TOTP on for the session's user through the API, as a user does; returns the backup codes. */
export async function enrolTotp(w: KeyWarden, token: string): Promise<string[]> {
  const setup = await call(w, bearer(token), "POST", "/api/v1/me/mfa/totp/setup");
  if (setup.status !== 200) throw new Error(`TOTP setup failed: ${setup.status} ${setup.raw}`);
  const code = TOTP.generate({ secret: Secret.fromBase32(setup.body.secret), timestamp: w.clock.now().getTime() });
  const enable = await call(w, bearer(token), "POST", "/api/v1/me/mfa/totp/enable", { code });
  if (enable.status !== 200) throw new Error(`TOTP enable failed: ${enable.status} ${enable.raw}`);
  return enable.body.backupCodes as string[];
}

/** A step-up verification token for this session (POST /api/v1/mfa/challenge, then verify with a backup code). */
export async function stepUpToken(w: Warden, token: string, backupCode: string): Promise<string> {
  const challenge = await call(w, bearer(token), "POST", "/api/v1/mfa/challenge");
  const verified = await call(w, bearer(token), "POST", "/api/v1/mfa/verify", {
    challengeToken: challenge.body.challenge_token,
    type: "backup_code",
    code: backupCode,
  });
  if (verified.status !== 200) throw new Error(`step-up failed: ${verified.status} ${verified.raw}`);
  return verified.body.verification_token as string;
}

export const INVALID_KEY = { code: 403, message: "Invalid API Token", error: "AUTH_HEADER_TOKEN" };
