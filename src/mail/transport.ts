import type { Transporter } from "nodemailer";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import { createOutboxTransport } from "./outbox.js";

/** A rendered mail, ready for the wire. */
export interface Envelope {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** The action link, if any: only the outbox logs it (its delivery channel). */
  link?: string;
}

export interface MailTransport {
  /** Delivers or throws; the queue retries. */
  send(envelope: Envelope): Promise<void>;
  close(): void;
}

/** Bounds every SMTP step, so a dead server costs a retry, not a worker stuck for minutes. */
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

/**
 * A nodemailer transporter made at the first mail, not at start: nodemailer costs about 6 MB and
 * 50 ms to load, and a process may never send a mail (issue 14: memory per worker, start time).
 */
export function lazyTransporter(create: (nodemailer: (typeof import("nodemailer"))["default"]) => Transporter) {
  let transporter: Promise<Transporter> | undefined;
  return {
    get: () => (transporter ??= import("nodemailer").then((module) => create(module.default))),
    close: () => void transporter?.then((t) => t.close()),
  };
}

/** SMTP through nodemailer. `SMTP_URL` may carry nodemailer's query options (`?ignoreTLS=true`...). */
export function createSmtpTransport(url: string): MailTransport {
  const transporter = lazyTransporter((nodemailer) => nodemailer.createTransport({ url, ...SMTP_TIMEOUTS }));
  return {
    async send({ from, to, subject, text, html }) {
      await (await transporter.get()).sendMail({ from, to, subject, text, html });
    },
    close: transporter.close,
  };
}

/** SMTP when `SMTP_URL` is set; otherwise `.eml` files in `<DATA_DIR>/outbox/`, so the embedded default needs no mail server. */
export function createTransportFor(config: Config, log: Logger): MailTransport {
  return config.SMTP_URL ? createSmtpTransport(config.SMTP_URL) : createOutboxTransport(config.DATA_DIR, log);
}
