/**
 * Use cases that write more than once stand or fall together: when the database refuses their
 * last write (a trigger on security_events, a real failure), nothing of the rest is left, no mail
 * leaves, and the next try works as if the failed one never happened.
 */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { test } from "node:test";
import { engines } from "../helpers/engines.js";
import { refuseSecurityEvents } from "../helpers/database.js";
import { postJson } from "../helpers/warden.js";
import { googleSignIn, newSubject, PASSWORD, startFederation } from "../federation/fixtures.js";
import { challenge, enrolledUser } from "../mfa/mfa-helpers.js";

const gmail = (name: string) => `${name}.${crypto.randomBytes(3).toString("hex")}@gmail.com`;

for (const { engine, skip } of engines) {
  test(`Google sign-in and email codes are one unit of work each on ${engine.name}`, { skip }, async (t) => {
    const world = await startFederation(engine);
    const { w, google, smtp, clock } = world;
    const db = w.deps.database.db;
    const identitiesOf = async (sub: string) =>
      db.selectFrom("identities").select("user_id").where("subject", "=", sub).execute();
    /** A Google sign-in of `email` while the database refuses `eventType` events: a 500. */
    const signInWhileRefusing = async (email: string, eventType: string) => {
      const sub = newSubject();
      const credential = await google.mint({ sub, email, email_verified: true });
      const restore = await refuseSecurityEvents(w.deps.database, eventType);
      const failed = await googleSignIn(w, { credential }).finally(restore);
      assert.equal(failed.status, 500, failed.raw);
      return { sub, credential };
    };
    try {
      await t.test("a first sign-in whose event fails leaves no account and no identity", async () => {
        const email = gmail("first");
        const { sub, credential } = await signInWhileRefusing(email, "user_registered");
        assert.equal(await w.deps.users.findByEmail(email), null);
        assert.deepEqual(await identitiesOf(sub), []);
        const again = await googleSignIn(w, { credential });
        assert.equal(again.status, 200, again.raw);
      });

      await t.test("a link whose event fails links nothing and mails nothing", async () => {
        const email = gmail("link");
        const user = await w.createUser(email, PASSWORD);
        const { sub, credential } = await signInWhileRefusing(email, "identity_linked");
        assert.deepEqual(await identitiesOf(sub), []);
        const again = await googleSignIn(w, { credential });
        assert.equal(again.status, 200, again.raw);
        assert.deepEqual(await identitiesOf(sub), [{ user_id: user.id }]);
        await w.deps.mailer.idle();
        assert.equal(smtp.received.filter((m) => m.to === email).length, 1, "one notice, for the link that stands");
      });

      await t.test("a send whose event fails stores no code and spends neither the minute nor the hour", async () => {
        const email = gmail("code");
        const { user } = await enrolledUser(w, clock, email);
        const mfaToken = await challenge(w, email);
        const restore = await refuseSecurityEvents(w.deps.database, "email_otp_sent");
        const failed = [];
        for (let i = 0; i < 5; i++)
          failed.push((await postJson(w.app, "/api/auth/mfa/email-otp/send", { mfaToken })).status);
        await restore();
        assert.deepEqual(failed, [500, 500, 500, 500, 500]);
        const rows = await db.selectFrom("email_otp_codes").select("user_id").where("user_id", "=", user.id).execute();
        assert.deepEqual(rows, []);
        // At once, and after five failures within the hour: the failed sends counted for nothing.
        const sent = await postJson(w.app, "/api/auth/mfa/email-otp/send", { mfaToken });
        assert.deepEqual([sent.status, sent.body], [200, { sent: true }]);
      });
    } finally {
      await world.close();
    }
  });
}
