import assert from "node:assert/strict";
import { SoftAuthenticator, type AuthenticatorOptions } from "../helpers/soft-authenticator.js";
import { postJson, type Warden } from "../helpers/warden.js";
import { bearer } from "../mfa/mfa-helpers.js";
import { login as loginTokens, PASSWORD } from "../helpers/login.js";

/** Warden's relying party in the tests: APP_URL is http://warden.test (test/helpers/warden.ts). */
export const ORIGIN = "http://warden.test";
export const RP_ID = "warden.test";

/** Limits are exercised in their own test; the flows here make many requests from one IP. */
export const GENEROUS_LIMITS = {
  LOGIN_RATE_LIMIT: "1000/60",
  MFA_RATE_LIMIT: "1000/60",
  OAUTH_LOGIN_RATE_LIMIT: "1000/60",
};

export const authenticator = (options: Partial<AuthenticatorOptions> = {}) =>
  new SoftAuthenticator({ origin: ORIGIN, ...options });

/** Registers a passkey from `device` for the session of `token` (fresh, so no step-up needed). */
export async function registerPasskey(w: Warden, token: string, device: SoftAuthenticator, name = "Test key") {
  const options = await bearer(w, "POST", "/api/v1/passkey/register/options", token);
  assert.equal(options.status, 200, options.raw);
  const created = await bearer(w, "POST", "/api/v1/passkey/register", token, {
    name,
    credential: device.create(options.body),
  });
  assert.equal(created.status, 201, created.raw);
  return created.body as { id: string; name: string; createdAt: string; lastUsedAt: null };
}

/** A confirmed user, logged in with the password, holding one passkey on `device`. */
export async function userWithPasskey(w: Warden, email: string, device: SoftAuthenticator) {
  const user = await w.createUser(email, PASSWORD);
  const { token } = await loginTokens(w, email);
  const passkey = await registerPasskey(w, token, device);
  return { user, token, passkey };
}

export async function loginOptions(w: Warden, headers: Record<string, string> = {}) {
  const r = await postJson(w.app, "/api/auth/passkey/login/options", {}, headers);
  assert.equal(r.status, 200, r.raw);
  return r.body;
}

export const passkeyLogin = (w: Warden, body: unknown) => postJson(w.app, "/api/auth/passkey/login", body);
