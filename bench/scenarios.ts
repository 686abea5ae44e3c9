import type { Step } from "./load.js";
import { nextSecondFactor, type MfaUser } from "./mfa-users.js";
import { BENCH_PASSWORD, type Session } from "./warden.js";

/** Round-robin over a list, shared by every connection of one run. */
function cycle<T>(items: readonly T[]): () => T {
  let i = 0;
  return () => items[i++ % items.length]!;
}

const parse = (body: string): Record<string, unknown> => {
  try {
    return JSON.parse(body) as Record<string, unknown>;
  } catch {
    return {};
  }
};

/** POST /api/auth for users without MFA; every request is a correct password. */
export function wardenLogin(emails: readonly string[]): Step[] {
  const email = cycle(emails);
  return [{ method: "POST", path: "/api/auth", build: () => ({ body: { email: email(), password: BENCH_PASSWORD } }) }];
}

/** A pass that used the user's TOTP code is over: the user may use a newer step again. */
function endTotpFlow(context: Record<string, unknown>): void {
  if ((context.factor as { type: string }).type === "totp") (context.user as MfaUser).totpInFlight = false;
}

/**
 * POST /api/auth for a user with TOTP on (-> mfa_token), then POST /api/auth/mfa/verify with a
 * second factor: a fresh TOTP step while the user has one, else a backup code.
 */
export function wardenMfaLogin(users: readonly MfaUser[]): Step[] {
  const user = cycle(users);
  return [
    {
      method: "POST",
      path: "/api/auth",
      build(context) {
        // Find a user with a second factor left; after a full round without one, send the last anyway (it will fail, and count).
        let chosen = user();
        let factor = nextSecondFactor(chosen);
        for (let tries = 1; !factor && tries < users.length; tries++) {
          chosen = user();
          factor = nextSecondFactor(chosen);
        }
        context.factor = factor ?? { type: "backup_code", code: "none-left" };
        context.user = chosen;
        return { body: { email: chosen.email, password: BENCH_PASSWORD } };
      },
      onResponse(status, body, context) {
        if (status === 200) context.mfaToken = parse(body).mfa_token;
        else endTotpFlow(context);
      },
    },
    {
      method: "POST",
      path: "/api/auth/mfa/verify",
      build(context) {
        // The login was refused (a 503 under load, say): it already counts as the error; no verify.
        if (typeof context.mfaToken !== "string") return null;
        const factor = context.factor as { type: string; code: string };
        return { body: { mfaToken: context.mfaToken, code: factor.code, type: factor.type } };
      },
      onResponse: (_status, _body, context) => endTotpFlow(context),
    },
  ];
}

/**
 * POST /api/auth/token/refresh. Refresh tokens are single use, so each session is a chain: a
 * request takes a token no other request holds, and a success puts the successor back. A failed
 * refresh ends that chain (there are spare sessions).
 */
export function wardenRefresh(sessions: readonly Session[]): Step[] {
  const available = sessions.map((s) => s.refreshToken);
  return [
    {
      method: "POST",
      path: "/api/auth/token/refresh",
      build: () => ({ body: { refresh_token: available.pop() ?? "no-session-left" } }),
      onResponse(status, body) {
        if (status === 200) available.unshift(String(parse(body).refresh_token));
      },
    },
  ];
}

/** GET /api/v1/me with the access tokens of live sessions. */
export function wardenMe(sessions: readonly Session[]): Step[] {
  const session = cycle(sessions);
  return [{ path: "/api/v1/me", build: () => ({ headers: { authorization: `Bearer ${session().token}` } }) }];
}

export const wardenJwks = (): Step[] => [{ path: "/.well-known/jwks.json" }];

/** GET /api/v1/me with API keys, sent as Storno's clients send them (`Authorization: af_...`). */
export function wardenApiKeyMe(keys: readonly string[]): Step[] {
  const key = cycle(keys);
  return [{ path: "/api/v1/me", build: () => ({ headers: { authorization: key() } }) }];
}

/**
 * POST /api/auth/introspect as a resource server calls it for each request it receives with a key:
 * the shared secret, and a live key, so a success is `{"active":true,...}` (an inactive answer
 * would mean the bench measured the wrong thing, and counts as an error).
 */
export function wardenIntrospect(secret: string, keys: readonly string[]): Step[] {
  const key = cycle(keys);
  return [
    {
      method: "POST",
      path: "/api/auth/introspect",
      build: () => ({ body: { token: key() }, headers: { authorization: `Bearer ${secret}` } }),
      accept: (status, body) => status === 200 && body.includes('"active":true'),
    },
  ];
}

/**
 * better-auth: POST /api/auth/sign-in/email, the counterpart of Warden's login. It refuses a
 * sign-in without an Origin it trusts (CSRF defence); a browser on the app's origin sends one.
 */
export function peerSignIn(origin: string, emails: readonly string[]): Step[] {
  const email = cycle(emails);
  return [
    {
      method: "POST",
      path: "/api/auth/sign-in/email",
      build: () => ({ body: { email: email(), password: BENCH_PASSWORD }, headers: { origin } }),
    },
  ];
}

/**
 * better-auth: GET /api/auth/get-session with a session cookie. `refresh: false` adds
 * ?disableRefresh=true (a read: Warden's GET /api/v1/me); `refresh: true` lets updateAge 0 extend
 * the session and re-issue the cookie on every call (better-auth's session refresh).
 */
export function peerGetSession(cookies: readonly string[], refresh: boolean): Step[] {
  const cookie = cycle(cookies);
  const path = refresh ? "/api/auth/get-session" : "/api/auth/get-session?disableRefresh=true";
  // get-session answers 200 with `null` for a session it does not find: that is a failure here.
  return [
    {
      path,
      build: () => ({ headers: { cookie: cookie() } }),
      accept: (status, body) => status === 200 && body !== "null",
    },
  ];
}
