import type { FastifyInstance } from "fastify";
import { freshIp } from "../helpers/login.js";
import { postJson, startWarden, type StartOptions, type Warden } from "../helpers/warden.js";
import { startSmtp, type TestSmtp } from "./smtp.js";

/** POST JSON through inject() from `ip` (a fresh address unless given). */
export const post = (app: FastifyInstance, url: string, body: unknown, ip: string = freshIp()) =>
  postJson(app, url, body, {}, { remoteAddress: ip });

/** The `sid` claim of an access token: the session it belongs to. */
export const sessionIdOf = (jwt: string): string =>
  JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString("utf8")).sid as string;

export interface MailWarden {
  w: Warden;
  smtp: TestSmtp;
  close(): Promise<void>;
}

/** A Warden that sends its mail to a real SMTP server started for the test. */
export async function startWardenWithSmtp(options: StartOptions = {}): Promise<MailWarden> {
  const smtp = await startSmtp();
  const w = await startWarden({ ...options, env: { SMTP_URL: smtp.url, ...options.env } });
  return {
    w,
    smtp,
    async close() {
      await w.close();
      await smtp.close();
    },
  };
}
