import type { DomainDeps, RequestContext } from "../context.js";
import type { UserRecord } from "./ports.js";
import type { MailKind, OutgoingMail } from "../lib/ports.js";

/** Mails that tell the user something happened to their account; they carry no link with a token. */
export type NoticeKind = Exclude<MailKind, "confirm_email" | "reset_password" | "account_unlock" | "email_change">;

/** Letters (any script), combining marks, spaces, hyphens and apostrophes; nothing that makes a link or a sentence. */
const GREETABLE_NAME = /^[\p{L}\p{M}][\p{L}\p{M} '\u2019-]{0,39}$/u;

/**
 * The name a mail greets with, or null for a plain "Hello,". A name is typed by whoever
 * registered, and mails go to the address they typed: anyone could register a victim's address
 * with a "name" that is a message and a link (phishing in Warden's own mail). So a name goes
 * into a mail only when the address was confirmed and the name looks like a name (at most 40
 * letters, spaces, hyphens, apostrophes); with REQUIRE_EMAIL_CONFIRMATION off every address
 * counts as confirmed, which is why the shape rule stands on its own.
 */
export function greetingName(user: Pick<UserRecord, "firstName" | "emailConfirmedAt">): string | null {
  if (!user.emailConfirmedAt || !user.firstName) return null;
  return GREETABLE_NAME.test(user.firstName) ? user.firstName : null;
}

/** A mail to the user, in their language, about something that happened now from `ctx`. */
export function mailFor(
  deps: Pick<DomainDeps, "clock">,
  user: UserRecord,
  kind: MailKind,
  ctx: RequestContext,
): OutgoingMail {
  return {
    kind,
    to: user.email,
    userId: user.id,
    locale: user.locale,
    firstName: greetingName(user),
    occurredAt: deps.clock.now(),
    ip: ctx.ip,
  };
}

/**
 * Tells the user about a change to their account (password changed or reset, MFA on or off,
 * a refresh token presented twice). Returns at once: the mail is queued, never awaited, so a
 * mail server that is down cannot fail or slow the request that triggered it.
 */
export function sendNotice(
  deps: Pick<DomainDeps, "clock" | "mailer">,
  user: UserRecord,
  kind: NoticeKind,
  ctx: RequestContext,
): void {
  // A deleted account's address belongs to nobody we know any more.
  if (user.deletedAt) return;
  deps.mailer.enqueue(mailFor(deps, user, kind, ctx));
}
