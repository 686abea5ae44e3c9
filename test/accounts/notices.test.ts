import assert from "node:assert/strict";
import { test } from "node:test";
import { sendNotice, type NoticeKind } from "../../src/domain/accounts/notices.js";
import { startWardenWithSmtp } from "./helpers.js";

const KINDS: NoticeKind[] = [
  "password_changed",
  "password_reset_done",
  "mfa_enabled",
  "mfa_disabled",
  "refresh_token_reuse",
];

test("every notice reaches the user in their language, saying when and from where, with no token", async () => {
  const { w, smtp, close } = await startWardenWithSmtp({ env: { PRODUCT_NAME: "Storno" } });
  try {
    const en = await w.createUser("en@example.com", "seven silver spoons");
    const ro = await w.createUser("ro@example.com", "seven silver spoons");
    await w.deps.users.updateProfile(ro.id, { locale: "ro", firstName: "Elena" }, new Date());
    const roUser = (await w.deps.users.findById(ro.id))!;
    const ctx = { ip: "203.0.113.5", userAgent: "test" };
    for (const kind of KINDS) {
      sendNotice(w.deps, en, kind, ctx);
      sendNotice(w.deps, roUser, kind, ctx);
    }
    const subjects = new Set<string>();
    for (const kind of KINDS) {
      const english = await smtp.nextMail("en@example.com");
      const romanian = await smtp.nextMail("ro@example.com");
      for (const mail of [english, romanian]) {
        assert.match(mail.decoded, /203\.0\.113\.5/, kind);
        assert.match(mail.decoded, /Storno/, kind);
        assert.doesNotMatch(mail.decoded, /token=/, kind);
        subjects.add(/^Subject: (.*)$/m.exec(mail.raw)![1]!);
      }
      assert.match(english.decoded, /^Hello,$/m);
      assert.match(romanian.decoded, /^Bună ziua, Elena,$/m);
    }
    assert.equal(subjects.size, KINDS.length * 2, "each kind and language has its own subject");
  } finally {
    await close();
  }
});
