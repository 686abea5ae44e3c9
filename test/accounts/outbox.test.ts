import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { postLogin } from "../helpers/login.js";
import { startWarden } from "../helpers/warden.js";
import { post } from "./helpers.js";
import { decodeQuotedPrintable } from "./smtp.js";

test("without SMTP_URL the confirmation mail is an .eml file in <DATA_DIR>/outbox/ and its link is logged", async () => {
  const w = await startWarden();
  try {
    assert.equal(
      (await post(w.app, "/api/auth/register", { email: "outbox@example.com", password: "window box of herbs" }))
        .status,
      201,
    );
    await w.deps.mailer.idle();
    const dir = path.join(w.deps.config.DATA_DIR, "outbox");
    const files = fs.readdirSync(dir);
    assert.equal(files.length, 1);
    assert.match(files[0]!, /\.eml$/);
    const file = path.join(dir, files[0]!);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600, "only the owner can read a mail holding a live token");
    const eml = decodeQuotedPrintable(fs.readFileSync(file, "utf8"));
    assert.match(eml, /^To: outbox@example\.com$/m);
    const link = /http:\/\/warden\.test\/confirm-email\?token=[A-Za-z0-9_-]{43}/.exec(eml)?.[0];
    assert.ok(link, "the mail holds the confirmation link");

    const logged = w.logLines
      .map((line) => JSON.parse(line))
      .find((entry) => entry.msg?.startsWith("mail written to the outbox"));
    assert.equal(logged?.link, link);
    assert.equal(logged?.file, file);

    const token = new URL(link).searchParams.get("token");
    assert.equal((await post(w.app, "/api/auth/confirm-email", { token })).status, 200);
    assert.equal((await postLogin(w, "outbox@example.com", "window box of herbs")).status, 200);
  } finally {
    await w.close();
  }
});
