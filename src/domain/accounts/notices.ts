import type { DomainDeps, RequestContext } from "../context.js";
import type { MailKind, OutgoingMail, UserRecord } from "../ports.js";

/** Mails that tell the user something happened to their account; they carry no link with a token. */
export type NoticeKind = Exclude<MailKind, "confirm_email" | "reset_password" | "account_unlock">;

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
    firstName: user.firstName,
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
