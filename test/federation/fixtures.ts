import assert from "node:assert/strict";
import crypto from "node:crypto";
import { startWardenWithSmtp, type MailWarden } from "../accounts/helpers.js";
import type { EngineUnderTest } from "../helpers/engines.js";
import { startIdentityProvider, type FakeIdentityProvider } from "../helpers/identity-provider.js";
import { FixedClock, postJson, withBearer, type Warden } from "../helpers/warden.js";

export const GOOGLE_CLIENT = "warden-test.apps.googleusercontent.com";
export const APPLE_CLIENT = "ro.storno.app";
export const PASSWORD = "correct horse battery staple";

export interface FederationWorld extends MailWarden {
  clock: FixedClock;
  google: FakeIdentityProvider;
  apple: FakeIdentityProvider;
}

/** Warden with Google and Apple pointed at two fake identity providers on 127.0.0.1, and a real SMTP sink. */
export async function startFederation(
  engine: EngineUnderTest,
  env: Record<string, string> = {},
): Promise<FederationWorld> {
  const clock = new FixedClock();
  const google = await startIdentityProvider({ audience: GOOGLE_CLIENT, now: () => clock.now() });
  const apple = await startIdentityProvider({ audience: APPLE_CLIENT, now: () => clock.now() });
  const world = await startWardenWithSmtp({
    engine,
    clock,
    // Key rotation at the IdP is tested right after a fetch, so refetch on an unknown kid at once.
    jwksCooldownMs: 0,
    env: {
      GOOGLE_CLIENT_IDS: `other-client.apps.googleusercontent.com,${GOOGLE_CLIENT}`,
      GOOGLE_JWKS_URL: google.jwksUrl,
      GOOGLE_ISSUERS: google.issuer,
      APPLE_CLIENT_IDS: APPLE_CLIENT,
      APPLE_JWKS_URL: apple.jwksUrl,
      APPLE_ISSUER: apple.issuer,
      LOGIN_RATE_LIMIT: "1000/60",
      MFA_RATE_LIMIT: "1000/60",
      OAUTH_LOGIN_RATE_LIMIT: "1000/60",
      ...env,
    },
  });
  return {
    ...world,
    clock,
    google,
    apple,
    async close() {
      await world.close();
      await google.close();
      await apple.close();
    },
  };
}

let subjects = 0;
/** A fresh provider user id. */
export const newSubject = (): string => `${Date.now()}${++subjects}${crypto.randomInt(1e6)}`;

export const googleSignIn = (w: Warden, body: object, headers: Record<string, string> = {}) =>
  postJson(w.app, "/api/auth/google", body, headers);
export const appleSignIn = (w: Warden, body: object, headers: Record<string, string> = {}) =>
  postJson(w.app, "/api/auth/apple", body, headers);

export async function me(w: Warden, token: string) {
  const r = await withBearer(w, token, { method: "GET", url: "/api/v1/me" });
  assert.equal(r.status, 200, r.raw);
  return r.body;
}

/** Sessions ever opened for the user (revoked ones included). */
export async function sessionCount(w: Warden, userId: string): Promise<number> {
  const rows = await w.deps.database.db.selectFrom("sessions").select("id").where("user_id", "=", userId).execute();
  return rows.length;
}
