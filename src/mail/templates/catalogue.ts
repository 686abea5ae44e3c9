import type { MailKind } from "../../domain/lib/ports.js";

/** What a template may say: filled in by the mail layer from configuration and the mail. */
export interface TemplateVars {
  product: string;
  appUrl: string;
  /** When the event happened, formatted for the reader's language (UTC). */
  when: string;
  ip: string | null;
  linkTtlHours: number;
  /** The one-time code of an email-code mail. */
  code: string;
  codeTtlMinutes: number;
  /** The sign-in provider a notice names ("Google", "Apple"). */
  provider: string;
}

export interface MailContent {
  subject: string;
  paragraphs: string[];
  /** Label of the button that opens the mail's link. */
  action?: string;
}

/** One language: every kind of mail, plus the frame around it. */
export interface Catalogue {
  locale: string;
  greeting(firstName: string | null): string;
  /** Shown under the button, for clients that do not render it. */
  linkFallback: string;
  signature(product: string): string;
  mails: Record<MailKind, (v: TemplateVars) => MailContent>;
}
