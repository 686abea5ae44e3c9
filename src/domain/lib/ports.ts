/** Ports every module uses: the clock, randomness, mail. Implementations: src/deps.ts, src/mail/. */

export interface Clock {
  now(): Date;
}

export interface Random {
  bytes(length: number): Buffer;
  uuid(): string;
}

/**
 * Reads every authenticated request makes (its session and user, its API key, the user's MFA
 * state), remembered for at most AUTH_CACHE_MS (at most a second). A write committed by this
 * process forgets them all at once, so what a client just changed is what it reads next; a write
 * by another instance (or the CLI) is seen within AUTH_CACHE_MS. Only for reads at the edge of a
 * request, outside any unit of work: inside one, `remember` reads through (src/storage/stores.ts).
 */
export interface RecentReads {
  remember<T>(key: string, read: () => Promise<T>): Promise<T>;
}

/** Every mail Warden sends; templates exist for each in English and Romanian (src/mail/templates). */
export type MailKind =
  | "confirm_email"
  | "reset_password"
  | "password_changed"
  | "password_reset_done"
  | "mfa_enabled"
  | "mfa_disabled"
  | "refresh_token_reuse"
  | "account_unlock"
  | "email_otp_code"
  | "identity_linked"
  | "email_change"
  | "email_change_requested"
  | "email_changed";

/** A mail to render and send. The mail layer adds the product name, sender and layout. */
export interface OutgoingMail {
  kind: MailKind;
  to: string;
  userId: string;
  /** The user's locale (`ro`, `ro-RO`, `en`...); anything not Romanian gets English. */
  locale: string | null;
  firstName: string | null;
  /** The one action link (confirmation, reset), holding a token. Never logged, except in outbox mode. */
  link?: string;
  /** How long the link stays valid, told to the reader. */
  linkTtlHours?: number;
  /** A one-time code to type in (email codes). Never logged. */
  code?: string;
  /** How long the code stays valid, told to the reader. */
  codeTtlMinutes?: number;
  /** The sign-in provider a notice is about ("Google", "Apple"). */
  provider?: string;
  /** What triggered a notice: when and from where, shown to the user. */
  occurredAt: Date;
  ip?: string | null;
}

export interface Mailer {
  /**
   * Queues the mail and returns at once: sending never blocks or fails the caller. Delivery is
   * retried; a mail that finally fails is logged and recorded as a `mail_failed` security event.
   * `prepare` (e.g. storing the link's token) runs in the queue, once, before the first send;
   * while it fails the mail is not sent.
   */
  enqueue(mail: OutgoingMail, prepare?: () => Promise<void>): void;
}
