import * as z from "zod";
import { databaseKindOf, workersFor } from "./thread-pool.cjs";

import type { RateRule } from "./domain/security/rate-limits.js";
import { MIN_SECRET_LENGTH } from "./domain/lib/secret-box.js";

export type { RateRule };
export { workersFor };

const rateRule = z.string().transform((value, ctx): RateRule => {
  const match = /^(\d+)\s*\/\s*(\d+)$/.exec(value.trim());
  if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) {
    ctx.addIssue({ code: "custom", message: `expected <count>/<seconds> such as 5/60, got "${value}"` });
    return z.NEVER;
  }
  return { points: Number(match[1]), durationSeconds: Number(match[2]) };
});

const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const seconds = z.coerce.number().int().min(0);
const positiveSeconds = z.coerce.number().int().min(1);

/** `false`, `true`, a hop count, or a comma list of addresses/CIDRs of the proxies allowed to set X-Forwarded-For. */
export type TrustProxy = boolean | number | string[];
const trustProxy = z.string().transform((value, ctx): TrustProxy => {
  const v = value.trim();
  if (v === "" || v === "false") return false;
  if (v === "true") return true;
  if (/^\d+$/.test(v)) return Number(v);
  const list = v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const entry of list) {
    if (!/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(entry)) {
      ctx.addIssue({ code: "custom", message: `"${entry}" is not an IP address or CIDR` });
      return z.NEVER;
    }
  }
  return list;
});

/** `auto` is resolved with the database in loadConfig (workersFor). */
const workers = z.string().transform((value, ctx): number | "auto" => {
  if (value === "auto") return "auto";
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    ctx.addIssue({ code: "custom", message: `expected a whole number >= 1 or "auto", got "${value}"` });
    return z.NEVER;
  }
  return n;
});

/** A comma list of non-empty values (client IDs, issuers). */
const commaList = z.string().transform((value) =>
  value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
);

/** An http(s) base URL, kept without its trailing slash so `${base}/path` is always right. */
const httpUrl = z
  .url({ protocol: /^https?$/, error: "expected an http:// or https:// URL" })
  .transform((v) => v.replace(/\/+$/, ""));
function originOf(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.origin : null;
  } catch {
    return null;
  }
}

/** A comma list of browser origins (CORS_ORIGINS, WEBAUTHN_ORIGINS), each exactly an origin (no path, never `*`). */
const corsOriginList = z.string().transform((value, ctx): string[] => {
  const origins: string[] = [];
  for (const entry of value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {
      url = undefined;
    }
    if (!url || !/^https?:$/.test(url.protocol) || url.origin !== entry.replace(/\/$/, "")) {
      ctx.addIssue({ code: "custom", message: `"${entry}" is not an origin such as https://app.example.com` });
      return z.NEVER;
    }
    origins.push(url.origin);
  }
  return origins;
});

const databaseUrl = z.string().refine((v) => /^(sqlite:|postgres(ql)?:\/\/)/.test(v), {
  message: "expected sqlite:<path> or postgres://...",
});

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default("127.0.0.1"),
  DATABASE_URL: databaseUrl.default("sqlite:./data/warden.db"),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "expected redis://...")
    .optional(),
  /** Namespace of the rate-limit counters, so several deployments (or test runs) can share one Redis. */
  COUNTER_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, "letters, digits, _ and - only")
    .default("warden"),
  DATA_DIR: z.string().min(1).default("./data"),
  TRUST_PROXY: trustProxy.default(false),
  // Browser apps (issue 12): Warden's own address apart from the app's.
  /** Warden's own base URL: `iss`, `jwks_uri`, the hosted pages, the WebAuthn RP ID. Default http://localhost:<PORT>. */
  PUBLIC_URL: httpUrl.optional(),
  /** Base of the links in mails. Default PUBLIC_URL, so mail links open Warden's own pages. */
  APP_URL: httpUrl.optional(),
  /** The `iss` claim; defaults to PUBLIC_URL. */
  JWT_ISSUER: z.string().min(1).optional(),
  /** Browser origins allowed to call the API with credentials (CORS), and to post with the refresh cookie. */
  CORS_ORIGINS: corsOriginList.default([]),
  /** The HttpOnly cookie that carries the refresh token for browsers (Path=/api/auth). */
  REFRESH_COOKIE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/, "letters, digits and !#$%&'*+.^_`|~- only")
    .default("__refresh__token"),
  REFRESH_COOKIE_SAMESITE: z
    .enum(["Strict", "Lax", "None", "strict", "lax", "none"])
    .transform((v) => (v[0]!.toUpperCase() + v.slice(1).toLowerCase()) as "Strict" | "Lax" | "None")
    .default("Lax"),
  WARDEN_SECRET: z.string().min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`).optional(),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, "expected smtp://user:pass@host:port")
    .optional(),
  MAIL_FROM: z.string().min(3).default("Warden <no-reply@localhost>"),
  PRODUCT_NAME: z.string().min(1).default("Warden"),
  ACCESS_TOKEN_TTL: positiveSeconds.default(3600),
  /**
   * Milliseconds an instance may answer an authenticated request from its memory of the session,
   * API key and user (src/storage/recent-reads.ts): a revocation, deactivation or change on
   * another instance is seen within this; on the same instance at once. 0 reads every request.
   */
  AUTH_CACHE_MS: z.coerce.number().int().min(0).max(1000).default(1000),
  REFRESH_TOKEN_TTL: positiveSeconds.default(2_592_000),
  SESSION_MAX_LIFETIME: positiveSeconds.default(7_776_000),
  REFRESH_REUSE_GRACE: seconds.default(10),
  MFA_CHALLENGE_TTL: positiveSeconds.default(300),
  MFA_ISSUER: z.string().min(1).default("Warden"),
  REQUIRE_EMAIL_CONFIRMATION: bool.default(true),
  PASSWORD_MIN_LENGTH: z.coerce.number().int().min(1).max(64).default(8),
  LOGIN_RATE_LIMIT: rateRule.default({ points: 5, durationSeconds: 60 }),
  MFA_RATE_LIMIT: rateRule.default({ points: 5, durationSeconds: 60 }),
  REFRESH_RATE_LIMIT: rateRule.default({ points: 60, durationSeconds: 60 }),
  REGISTER_RATE_LIMIT: rateRule.default({ points: 10, durationSeconds: 3600 }),
  PASSWORD_RESET_RATE_LIMIT: rateRule.default({ points: 3, durationSeconds: 900 }),
  /** Failed passwords per account from all IPs together (NIST SP 800-63B 5.2.2). */
  ACCOUNT_FAILURE_LIMIT: rateRule.default({ points: 100, durationSeconds: 3600 }),
  /** Longest a login may wait for a password-hashing slot before the server answers 503. */
  HASH_QUEUE_MAX_WAIT_MS: z.coerce.number().int().min(10).max(60_000).default(750),
  /**
   * Password hashes in flight per process; each argon2id hash holds 19 MB while it runs. Default:
   * one per core, shared among the workers (src/thread-pool.cts, hashSlotsFor), which is also the
   * size `npm start` gives libuv's thread pool.
   */
  HASH_CONCURRENCY: z.coerce.number().int().min(1).max(256).optional(),
  // Holding under attack (docs/threat-model.md): re-checks of the password by a logged-in user,
  // and the known devices that pass the account budget.
  /** Password re-checks (PATCH /me password, DELETE /me, TOTP disable, backup-code regenerate), right or wrong, per IP and per account. */
  REAUTH_RATE_LIMIT: rateRule.default({ points: 10, durationSeconds: 60 }),
  /** Days a device the owner logged in from (signed cookie, or a recent session's IPv4 / IPv6 /64) passes the account budget. */
  KNOWN_DEVICE_DAYS: z.coerce.number().int().min(1).max(400).default(30),
  /** The device cookie's Secure attribute; false only for plain-http development away from localhost. */
  DEVICE_COOKIE_SECURE: bool.default(true),
  WORKERS: workers.default(1),

  // Hold under attack and outage (issue 10): slow clients and data retention.
  /** Seconds a client has to send a whole request (headers and body); then 408 and the connection closes. */
  REQUEST_TIMEOUT: positiveSeconds.max(3600).default(30),
  /** Days an expired refresh token, MFA challenge or mail token is kept (a spent refresh token is still recognised as reuse until then). */
  RETENTION_DAYS_TOKENS: positiveSeconds.default(7),
  /** Days a revoked or expired session is kept (with its refresh tokens). */
  RETENTION_DAYS_SESSIONS: positiveSeconds.default(30),
  /** Days a revoked or expired API key is kept (its owner's list shows it, marked, until then). */
  RETENTION_DAYS_API_KEYS: positiveSeconds.default(30),
  /** Days a security event is kept. */
  RETENTION_DAYS_EVENTS: positiveSeconds.default(365),
  /** Seconds between purges by each running instance; 0 = only `warden purge`. */
  RETENTION_PURGE_INTERVAL: seconds.default(3600),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),

  // Google and Apple sign-in, email codes as a second factor (issue 11, docs/federation.md, docs/email-codes.md).
  /** OAuth client IDs an ID token's `aud` may name; Google sign-in is off while empty. */
  GOOGLE_CLIENT_IDS: commaList.default([]),
  GOOGLE_JWKS_URL: z.url().default("https://www.googleapis.com/oauth2/v3/certs"),
  GOOGLE_ISSUERS: commaList.default(["https://accounts.google.com", "accounts.google.com"]),
  /** Apple Services IDs / bundle IDs; Apple sign-in is off while empty. */
  APPLE_CLIENT_IDS: commaList.default([]),
  APPLE_JWKS_URL: z.url().default("https://appleid.apple.com/auth/keys"),
  APPLE_ISSUER: z.string().min(1).default("https://appleid.apple.com"),
  /**
   * The hosted pages' "Continue with Google/Apple" buttons (docs/federation.md): the providers'
   * authorization endpoints, and the client id the pages ask for (default: the first of
   * *_CLIENT_IDS; Google's "Web application" client, Apple's Services ID).
   */
  GOOGLE_AUTHORIZE_URL: z.url().default("https://accounts.google.com/o/oauth2/v2/auth"),
  GOOGLE_WEB_CLIENT_ID: z.string().min(1).optional(),
  APPLE_AUTHORIZE_URL: z.url().default("https://appleid.apple.com/auth/authorize"),
  APPLE_WEB_CLIENT_ID: z.string().min(1).optional(),
  /** Whether a first sign-in through a provider may create an account. */
  ALLOW_SIGNUP: bool.default(true),
  /** `fallback`: emailed codes offered except for EMAIL_OTP_COOLDOWN after a password reset or email change. */
  EMAIL_OTP_MFA: z.enum(["fallback", "always", "off"]).default("fallback"),
  EMAIL_OTP_COOLDOWN: seconds.default(604_800),
  /** Per IP: Google, Apple, passkey login and its options share this bucket (`oauth_login`). */

  // Passkeys (WebAuthn) and step-up verification (issue 11, docs/passkeys.md, docs/step-up.md).
  /** Relying-party ID: a registrable domain; defaults to the host of PUBLIC_URL (APP_URL until PUBLIC_URL exists). */
  WEBAUTHN_RP_ID: z
    .string()
    .regex(/^[a-z0-9.-]+$/i, "expected a host name such as example.com")
    .optional(),
  /** Shown by the authenticator; defaults to PRODUCT_NAME. */
  WEBAUTHN_RP_NAME: z.string().min(1).optional(),
  /** Comma list of origins a ceremony may come from; defaults to the origins of PUBLIC_URL, APP_URL and CORS_ORIGINS. */
  WEBAUTHN_ORIGINS: corsOriginList.optional(),
  /** Seconds a session counts as fresh for sensitive operations (passkey add/delete until the shared rule lands). */
  REAUTH_MAX_AGE: positiveSeconds.default(600),
  /** Per IP: passkey login and its options (and Google/Apple sign-in), one shared bucket. */
  OAUTH_LOGIN_RATE_LIMIT: rateRule.default({ points: 10, durationSeconds: 60 }),

  // API keys, introspection and metrics (issue 13; docs/integrators.md, docs/operators.md).
  /** JSON file: [{value, label, category, roles?}]. Unset: an empty catalogue, so no key can be created. */
  API_KEY_SCOPES_FILE: z.string().min(1).optional(),
  /** Requests per key on Warden's own endpoints (GET /api/v1/me), counted across instances. */
  API_KEY_RATE_LIMIT: rateRule.default({ points: 600, durationSeconds: 60 }),
  /** Resource servers send it as `Authorization: Bearer ...` to POST /api/auth/introspect. Unset: introspection is off (404). */
  INTROSPECTION_SECRET: z
    .string()
    .min(32, "must be at least 32 characters")
    .refine((v) => !v.startsWith("af_"), "must not look like an API key (af_...)")
    .optional(),
  /** When set, GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
});

export type Env = z.output<typeof schema>;

export interface Config extends Omit<Env, "PUBLIC_URL" | "APP_URL" | "WORKERS"> {
  /** Resolved: `auto` is one per core on PostgreSQL, one on SQLite (workersFor). */
  WORKERS: number;
  /** Resolved: PUBLIC_URL or http://localhost:<PORT>, no trailing slash. */
  PUBLIC_URL: string;
  /** Resolved: APP_URL or PUBLIC_URL, no trailing slash. */
  APP_URL: string;
  issuer: string;
  databaseKind: "sqlite" | "postgres";
  /** The relying party passkeys are bound to: from configuration only, never from a request. */
  webauthn: { rpId: string; rpName: string; origins: string[] };
}

/** Variables whose value is never echoed back in an error: secrets, and URLs that may carry a password. */
const UNPRINTABLE = /SECRET|TOKEN|_URL$/;

/** One problem in plain words, naming the variable and (unless it may be secret) the value given. */
function describeIssue(issue: z.core.$ZodIssue, env: Record<string, string | undefined>): string {
  const name = issue.path.join(".");
  const raw = env[name];
  const given = raw === undefined || UNPRINTABLE.test(name) ? "" : `, got "${raw}"`;
  switch (issue.code) {
    case "invalid_type":
      return issue.expected === "number"
        ? `${name}: expected a number${given}`
        : `${name}: expected a ${issue.expected}${given}`;
    case "too_small":
      return issue.origin === "string"
        ? `${name}: must be at least ${issue.minimum} characters long`
        : `${name}: must be ${issue.minimum} or more${given}`;
    case "too_big":
      return issue.origin === "string"
        ? `${name}: must be at most ${issue.maximum} characters long`
        : `${name}: must be ${issue.maximum} or less${given}`;
    case "invalid_value":
      return `${name}: expected one of ${issue.values.map(String).join(", ")}${given}`;
    default:
      return `${name}: ${issue.message}${issue.code === "custom" ? "" : given}`;
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
    this.name = "ConfigError";
  }
}

/** The only reader of process.env. Throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const present = Object.fromEntries(
    Object.keys(schema.shape)
      .filter((key) => env[key] !== undefined && env[key] !== "")
      .map((key) => [key, env[key]]),
  );
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => describeIssue(issue, present)));
  }
  const value = parsed.data;
  const webClients = [
    ["GOOGLE_WEB_CLIENT_ID", value.GOOGLE_WEB_CLIENT_ID, value.GOOGLE_CLIENT_IDS, "GOOGLE_CLIENT_IDS"],
    ["APPLE_WEB_CLIENT_ID", value.APPLE_WEB_CLIENT_ID, value.APPLE_CLIENT_IDS, "APPLE_CLIENT_IDS"],
  ] as const;
  const misplaced = webClients
    .filter(([, id, ids]) => id !== undefined && !ids.includes(id))
    .map(([name, id, , list]) => `${name}: "${id}" is not one of ${list}, so its ID tokens would be refused`);
  if (misplaced.length) throw new ConfigError(misplaced);
  const publicUrl = value.PUBLIC_URL ?? `http://localhost:${value.PORT}`;
  const databaseKind = databaseKindOf(value.DATABASE_URL);
  return {
    ...value,
    WORKERS: workersFor(value.WORKERS, databaseKind),
    PUBLIC_URL: publicUrl,
    APP_URL: value.APP_URL ?? publicUrl,
    issuer: value.JWT_ISSUER ?? publicUrl,
    databaseKind,
    webauthn: relyingParty(value, publicUrl, value.APP_URL ?? publicUrl),
  };
}

/** WebAuthn's relying party: from configuration only, never from a request's Host or Origin. */
function relyingParty(value: Env, publicUrl: string, appUrl: string): Config["webauthn"] {
  const defaults = [publicUrl, appUrl, ...value.CORS_ORIGINS]
    .map((url) => originOf(url.trim()))
    .filter((o) => o !== null);
  return {
    rpId: (value.WEBAUTHN_RP_ID ?? new URL(publicUrl).hostname).toLowerCase(),
    rpName: value.WEBAUTHN_RP_NAME ?? value.PRODUCT_NAME,
    origins: [...new Set(value.WEBAUTHN_ORIGINS ?? defaults)],
  };
}
