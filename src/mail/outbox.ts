import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { lazyTransporter, type MailTransport } from "./transport.js";

/**
 * Mail without a mail server: each message is composed exactly as SMTP would carry it and
 * written as `<DATA_DIR>/outbox/<time>-<id>.eml` (openable in any mail client), readable by the
 * owner only since it holds a live token.
 */
export function createOutboxTransport(dataDir: string, log: Logger): MailTransport {
  const dir = path.join(dataDir, "outbox");
  const composer = lazyTransporter((nodemailer) =>
    nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" }),
  );
  return {
    async send({ from, to, subject, text, html, link }) {
      const info = await (await composer.get()).sendMail({ from, to, subject, text, html });
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, "-")}-${crypto.randomUUID()}.eml`);
      await fs.writeFile(file, info.message as Buffer, { mode: 0o600, flag: "wx" });
      // The one place a token reaches the log, on purpose: with no SMTP_URL the outbox (and this
      // line) is how the operator delivers the link. Configure SMTP_URL in production.
      log.info({ to, subject, file, link }, "mail written to the outbox (SMTP_URL is not set)");
    },
    close: composer.close,
  };
}
