import type { RateRule } from "../security/rate-limits.js";
import type { DomainDeps, RequestContext } from "../context.js";
import { mailFor } from "./notices.js";
import type { EmailTokenPurpose, UserRecord } from "./ports.js";
import { sha256Hex } from "../lib/secret-box.js";

/**
 * Warden's tokens are 256 random bits, base64url: 43 characters. The format check is only there
 * to refuse garbage without a lookup: any token-looking string (base64url or hex, such as the
 * 64 hex characters of a link mailed by another system) is looked up and, when unknown,
 * answered 401 "invalid" like a spent one, not 400.
 */
export const EMAIL_TOKEN_PATTERN = "^[A-Za-z0-9_-]{16,256}$";

interface PurposeRules {
  ttlHours: number;
  /** Page of the client app the link opens; it posts the token back to the API. */
  path: string;
  mail: "confirm_email" | "reset_password" | "account_unlock" | "email_change";
  /**
   * Per-address caps on these mails, counted on every request so nobody can mail-bomb a user.
   * A mail goes out only when every cap allows it.
   */
  caps: Array<{ name: string; rule: RateRule }>;
}

export const EMAIL_TOKEN_RULES: Record<EmailTokenPurpose, PurposeRules> = {
  confirm: {
    ttlHours: 24,
    path: "/confirm-email",
    mail: "confirm_email",
    // One mail a minute: a user who did not get the first mail may ask again after 60 s
    // (registration counts as the first); at most 5 an hour however they are spread.
    caps: [
      { name: "mail-confirm", rule: { points: 1, durationSeconds: 60 } },
      { name: "mail-confirm-hour", rule: { points: 5, durationSeconds: 3600 } },
    ],
  },
  reset: {
    ttlHours: 1,
    path: "/reset-password",
    mail: "reset_password",
    caps: [{ name: "mail-reset", rule: { points: 3, durationSeconds: 3600 } }],
  },
  /** Sent when the account budget throttles a login: one per account per hour at most. */
  unlock: {
    ttlHours: 24,
    path: "/unlock-account",
    mail: "account_unlock",
    caps: [{ name: "mail-unlock", rule: { points: 1, durationSeconds: 3600 } }],
  },
  /** Mailed to the new address of a signed-in user who asked to change it; counted per account. */
  email_change: {
    ttlHours: 24,
    path: "/confirm-email-change",
    mail: "email_change",
    caps: [{ name: "mail-email-change", rule: { points: 3, durationSeconds: 3600 } }],
  },
};

/** What mailing a one-time link uses (forgot-password, resend-confirmation, unlock). */
export type MailLinkDeps = Pick<
  DomainDeps,
  "users" | "limiter" | "random" | "clock" | "config" | "mailer" | "emailTokens"
>;

/**
 * Mails a link with a new single-use token for `purpose`. Only the token's SHA-256 is stored,
 * and that happens in the mail queue, off the request path (see mailTokenLinkIfDue). With
 * `newEmail` (an email change) the mail goes to that address and the token carries it.
 */
export function mailTokenLink(
  deps: Pick<DomainDeps, "random" | "clock" | "config" | "mailer" | "emailTokens">,
  user: UserRecord,
  purpose: EmailTokenPurpose,
  ctx: RequestContext,
  newEmail?: string,
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
    newEmail: newEmail ?? null,
  };
  const link = `${deps.config.APP_URL.replace(/\/+$/, "")}${rules.path}?token=${token}`;
  const mail = { ...mailFor(deps, user, rules.mail, ctx), ...(newEmail ? { to: newEmail } : {}) };
  deps.mailer.enqueue({ ...mail, link, linkTtlHours: rules.ttlHours }, () => deps.emailTokens.create(stored));
}

/**
 * For the endpoints that must not tell whether an email has an account (resend-confirmation,
 * forgot-password): every path does the same database work, reading the user and counting the
 * per-address cap; storing a token and sending the mail happen in the queue, after the
 * response. So status, body and time are the same on every path.
 */
export async function mailTokenLinkIfDue(
  deps: MailLinkDeps,
  email: string,
  purpose: EmailTokenPurpose,
  isDue: (user: UserRecord) => boolean,
  ctx: RequestContext,
): Promise<void> {
  const rules = EMAIL_TOKEN_RULES[purpose];
  const user = await deps.users.findByEmail(email);
  // Stops at the first cap that refuses, so a refused minute does not use up the hour.
  let allowed = true;
  for (const cap of rules.caps) {
    allowed = (await deps.limiter.hit(cap.name, cap.rule, email)).allowed;
    if (!allowed) break;
  }
  if (user && !user.deletedAt && isDue(user) && allowed) mailTokenLink(deps, user, purpose, ctx);
}

/** Counts a mail sent without asking (registration's own confirmation mail) against every cap of `purpose`. */
export async function countMailAgainstCaps(
  deps: Pick<DomainDeps, "limiter">,
  email: string,
  purpose: EmailTokenPurpose,
): Promise<void> {
  for (const cap of EMAIL_TOKEN_RULES[purpose].caps) await deps.limiter.record(cap.name, cap.rule, email);
}
