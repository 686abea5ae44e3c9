import { z } from "zod";
import os from "node:os";

import type { RateRule } from "./domain/security/rate-limits.js";

export type { RateRule };

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

const workers = z.string().transform((value, ctx) => {
  if (value === "auto") return os.availableParallelism();
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    ctx.addIssue({ code: "custom", message: `expected a whole number >= 1 or "auto", got "${value}"` });
    return z.NEVER;
  }
  return n;
});

/** An http(s) base URL, kept without its trailing slash so `${base}/path` is always right. */
const httpUrl = z
  .url({ protocol: /^https?$/, error: "expected an http:// or https:// URL" })
  .transform((v) => v.replace(/\/+$/, ""));
/** A comma list of origins (`https://app.example.com`), each normalised to scheme://host[:port]. */
const originList = z.string().transform((value, ctx): string[] => {
  const origins: string[] = [];
  for (const entry of value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const origin = originOf(entry);
    if (!origin) {
      ctx.addIssue({ code: "custom", message: `"${entry}" is not an http(s) origin` });
      return z.NEVER;
    }
    origins.push(origin);
  }
  return origins;
});

function originOf(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.origin : null;
  } catch {
    return null;
  }
}

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
  WARDEN_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, "expected smtp://user:pass@host:port")
    .optional(),
  MAIL_FROM: z.string().min(3).default("Warden <no-reply@localhost>"),
  PRODUCT_NAME: z.string().min(1).default("Warden"),
  ACCESS_TOKEN_TTL: positiveSeconds.default(3600),
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
  HASH_QUEUE_MAX_WAIT_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  WORKERS: workers.default(1),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),

  // Passkeys (WebAuthn) and step-up verification (issue 11, docs/passkeys.md, docs/step-up.md).
  /** Relying-party ID: a registrable domain; defaults to the host of PUBLIC_URL (APP_URL until PUBLIC_URL exists). */
  WEBAUTHN_RP_ID: z
    .string()
    .regex(/^[a-z0-9.-]+$/i, "expected a host name such as example.com")
    .optional(),
  /** Shown by the authenticator; defaults to PRODUCT_NAME. */
  WEBAUTHN_RP_NAME: z.string().min(1).optional(),
  /** Comma list of origins a ceremony may come from; defaults to the origins of PUBLIC_URL, APP_URL and CORS_ORIGINS. */
  WEBAUTHN_ORIGINS: originList.optional(),
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

export interface Config extends Omit<Env, "PUBLIC_URL" | "APP_URL"> {
  /** Resolved: PUBLIC_URL or http://localhost:<PORT>, no trailing slash. */
  PUBLIC_URL: string;
  /** Resolved: APP_URL or PUBLIC_URL, no trailing slash. */
  APP_URL: string;
  issuer: string;
  databaseKind: "sqlite" | "postgres";
  /** The relying party passkeys are bound to: from configuration only, never from a request. */
  webauthn: { rpId: string; rpName: string; origins: string[] };
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
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`));
  }
  const value = parsed.data;
  const publicUrl = value.PUBLIC_URL ?? `http://localhost:${value.PORT}`;
  return {
    ...value,
    PUBLIC_URL: publicUrl,
    APP_URL: value.APP_URL ?? publicUrl,
    issuer: value.JWT_ISSUER ?? publicUrl,
    databaseKind: value.DATABASE_URL.startsWith("sqlite:") ? "sqlite" : "postgres",
    webauthn: relyingParty(value, publicUrl, value.APP_URL ?? publicUrl),
  };
}

/**
 * WebAuthn's relying party: from configuration only. CORS_ORIGINS is read when the schema has it
 * (the browser capability adds it).
 */
function relyingParty(value: Env, publicUrl: string, appUrl: string): Config["webauthn"] {
  const shared = value as Env & { CORS_ORIGINS?: string | string[] };
  const cors = typeof shared.CORS_ORIGINS === "string" ? shared.CORS_ORIGINS.split(",") : (shared.CORS_ORIGINS ?? []);
  const defaults = [publicUrl, appUrl, ...cors].map((url) => originOf(url.trim())).filter((o) => o !== null);
  return {
    rpId: (value.WEBAUTHN_RP_ID ?? new URL(publicUrl).hostname).toLowerCase(),
    rpName: value.WEBAUTHN_RP_NAME ?? value.PRODUCT_NAME,
    origins: [...new Set(value.WEBAUTHN_ORIGINS ?? defaults)],
  };
}
