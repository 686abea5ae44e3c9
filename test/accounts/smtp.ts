import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

export interface ReceivedMail {
  to: string;
  /** The whole message as it arrived. */
  raw: string;
  /** The message with quoted-printable undone, to read links and sentences from. */
  decoded: string;
}

/** Undoes quoted-printable (soft line breaks, =XX bytes) and reads the bytes as UTF-8. */
export function decodeQuotedPrintable(text: string): string {
  const joined = text.replace(/=\r?\n/g, "");
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const hex = joined.slice(i + 1, i + 3);
    if (joined[i] === "=" && /^[0-9A-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(joined[i]!, "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** The token of the mail's action link (`...?token=<43 chars>`). */
export function linkToken(
  mail: ReceivedMail,
  path: "/confirm-email" | "/reset-password" | "/unlock-account" | "/confirm-email-change",
): string {
  const match = new RegExp(`http://warden\\.test${path}\\?token=([A-Za-z0-9_-]{43})`).exec(mail.decoded);
  if (!match) throw new Error(`no ${path} link in mail:\n${mail.decoded}`);
  return match[1]!;
}

/**
 * The action link of the next mail to `to` that has one for `path` under `base` (notices come
 * and go meanwhile), whole, as the user would click it.
 */
export async function nextMailLink(smtp: TestSmtp, to: string, base: string, path: string): Promise<string> {
  const escaped = `${base}${path}`.replace(/[.?/]/g, (c) => `\\${c}`);
  for (let i = 0; i < 5; i++) {
    const mail = await smtp.nextMail(to);
    const match = new RegExp(`${escaped}\\?token=[A-Za-z0-9_-]{43}`).exec(mail.decoded);
    if (match) return match[0];
  }
  throw new Error(`no ${path} link in the mails to ${to}`);
}

export interface TestSmtp {
  /** SMTP_URL for Warden. */
  url: string;
  received: ReceivedMail[];
  /** The next mail to `to` not yet taken (waits for it). */
  nextMail(to: string): Promise<ReceivedMail>;
  close(): Promise<void>;
}

/**
 * A real SMTP server on a free local port (smtp-server). `reject(n)` decides, for the n-th
 * message (from 1), whether to refuse it and with which reply code.
 */
export async function startSmtp(options: { reject?: (n: number) => number | null } = {}): Promise<TestSmtp> {
  const received: ReceivedMail[] = [];
  const taken = new Set<ReceivedMail>();
  let waiters: Array<() => void> = [];
  let count = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const code = options.reject?.(++count) ?? null;
        if (code !== null) {
          const error = Object.assign(new Error(`refused by the test server`), { responseCode: code });
          return callback(error);
        }
        const raw = Buffer.concat(chunks).toString("utf8");
        for (const rcpt of session.envelope.rcptTo)
          received.push({ to: rcpt.address, raw, decoded: decodeQuotedPrintable(raw) });
        const woken = waiters;
        waiters = [];
        for (const wake of woken) wake();
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}/?ignoreTLS=true`,
    received,
    async nextMail(to) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const mail = received.find((m) => m.to === to && !taken.has(m));
        if (mail) {
          taken.add(mail);
          return mail;
        }
        if (Date.now() > deadline) throw new Error(`no mail to ${to} arrived`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 1_000).unref();
        });
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
