import assert from "node:assert/strict";
import { TOTP, Secret } from "otpauth";
import type { Clock } from "../../src/domain/lib/ports.js";
import { login, PASSWORD, postLogin } from "../helpers/login.js";
import { postJson, withBearer, type Warden } from "../helpers/warden.js";

/** The code an authenticator app shows now, computed independently of Warden's own TOTP code. */
export const authenticatorCode = (secret: string, clock: Clock): string =>
  TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: clock.now().getTime() });

export const verify = (w: Warden, body: Record<string, unknown>) => postJson(w.app, "/api/auth/mfa/verify", body);

export const bearer = (w: Warden, method: "GET" | "POST", url: string, token: string, body?: object) =>
  withBearer(w, token, { method, url, ...(body ? { payload: body } : {}) });

/** Logs in a user with MFA on and returns the challenge token. */
export async function challenge(w: Warden, email: string): Promise<string> {
  const r = await postLogin(w, email);
  assert.equal(r.status, 200, r.raw);
  assert.equal(r.body.mfa_required, true, r.raw);
  return r.body.mfa_token;
}

/**
 * A user with TOTP on: created, logged in, set up and enabled. The clock then moves one step on,
 * because the enabling code's step is spent and the next code must be a fresh one.
 */
export async function enrolledUser(w: Warden, clock: Clock & { advance(seconds: number): void }, email: string) {
  const user = await w.createUser(email, PASSWORD);
  const { token } = await login(w, email);
  const setup = await bearer(w, "POST", "/api/v1/me/mfa/totp/setup", token);
  assert.equal(setup.status, 200, setup.raw);
  const enable = await bearer(w, "POST", "/api/v1/me/mfa/totp/enable", token, {
    code: authenticatorCode(setup.body.secret, clock),
  });
  assert.equal(enable.status, 200, enable.raw);
  clock.advance(30);
  return { user, token, secret: setup.body.secret as string, backupCodes: enable.body.backupCodes as string[] };
}

/** TOTP on for `userId` straight through the factor store (for tests that only need the challenge). */
export async function turnOnTotp(w: Warden, userId: string, secretEnc: string): Promise<boolean> {
  const now = w.deps.clock.now();
  const pending = await w.deps.factors.savePending({ userId, type: "totp", secretEnc }, now);
  return w.deps.factors.confirm(pending.id, now);
}
