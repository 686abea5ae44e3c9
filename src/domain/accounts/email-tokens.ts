import type { RateRule } from "../security/rate-limits.js";
import type { DomainDeps, RequestContext } from "../context.js";
import { mailFor } from "./notices.js";
import type { EmailTokenPurpose, UserRecord } from "../ports.js";
import { sha256Hex } from "../lib/secret-box.js";

/** Tokens sent by mail are 256 random bits, base64url: exactly 43 characters. */
export const EMAIL_TOKEN_PATTERN = "^[A-Za-z0-9_-]{43}$";

interface PurposeRules {
  ttlHours: number;
  /** Page of the client app the link opens; it posts the token back to the API. */
  path: string;
  mail: "confirm_email" | "reset_password" | "account_unlock";
  /** Per-address cap on these mails, counted on every request so nobody can mail-bomb a user. */
  capName: string;
  cap: RateRule;
}

export const EMAIL_TOKEN_RULES: Record<EmailTokenPurpose, PurposeRules> = {
  confirm: {
    ttlHours: 24,
    path: "/confirm-email",
    mail: "confirm_email",
    capName: "mail-confirm",
    cap: { points: 1, durationSeconds: 300 },
  },
  reset: {
    ttlHours: 1,
    path: "/reset-password",
    mail: "reset_password",
    capName: "mail-reset",
    cap: { points: 3, durationSeconds: 3600 },
  },
  /** Sent when the account budget throttles a login: one per account per hour at most. */
  unlock: {
    ttlHours: 24,
    path: "/unlock-account",
    mail: "account_unlock",
    capName: "mail-unlock",
    cap: { points: 1, durationSeconds: 3600 },
  },
};

/**
 * Mails a link with a new single-use token for `purpose`. Only the token's SHA-256 is stored,
 * and that happens in the mail queue, off the request path (see mailTokenLinkIfDue).
 */
export function mailTokenLink(
  deps: DomainDeps,
  user: UserRecord,
  purpose: EmailTokenPurpose,
  ctx: RequestContext,
): void {
  const rules = EMAIL_TOKEN_RULES[purpose];
  const token = deps.random.bytes(32).toString("base64url");
  const now = deps.clock.now();
  const stored = {
    tokenHash: sha256Hex(token),
    userId: user.id,
    purpose,
    createdAt: now,
    expiresAt: new Date(now.getTime() + rules.ttlHours * 3_600_000),
  };
  const link = `${deps.config.APP_URL.replace(/\/+$/, "")}${rules.path}?token=${token}`;
  deps.mailer.enqueue({ ...mailFor(deps, user, rules.mail, ctx), link, linkTtlHours: rules.ttlHours }, () =>
    deps.emailTokens.create(stored),
  );
}

/**
 * For the endpoints that must not tell whether an email has an account (resend-confirmation,
 * forgot-password): every path does the same database work, reading the user and counting the
 * per-address cap; storing a token and sending the mail happen in the queue, after the
 * response. So status, body and time are the same on every path.
 */
export async function mailTokenLinkIfDue(
  deps: DomainDeps,
  email: string,
  purpose: EmailTokenPurpose,
  isDue: (user: UserRecord) => boolean,
  ctx: RequestContext,
): Promise<void> {
  const rules = EMAIL_TOKEN_RULES[purpose];
  const user = await deps.users.findByEmail(email);
  const cap = await deps.limiter.hit(rules.capName, rules.cap, email);
  if (user && !user.deletedAt && isDue(user) && cap.allowed) mailTokenLink(deps, user, purpose, ctx);
}
