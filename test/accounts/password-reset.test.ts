import assert from "node:assert/strict";
import { test } from "node:test";
import { postLogin } from "../helpers/login.js";
import { engines } from "../helpers/engines.js";
import { FixedClock } from "../helpers/warden.js";
import { post, sessionIdOf, startWardenWithSmtp } from "./helpers.js";
import { linkToken } from "./smtp.js";

const OLD = "old lantern by the sea";
const NEW = "new lantern on the hill";

for (const { engine, skip } of engines) {
  test(
    `${engine.name}: forgot -> mail -> reset ends every session; old password dead, new one works`,
    { skip },
    async () => {
      const { w, smtp, close } = await startWardenWithSmtp({ engine });
      try {
        const user = await w.createUser("maria@example.com", OLD);
        const phone = await postLogin(w, "maria@example.com", OLD);
        const laptop = await postLogin(w, "maria@example.com", OLD);
        assert.equal(phone.status, 200);
        assert.equal(laptop.status, 200);

        assert.equal((await post(w.app, "/api/auth/forgot-password", { email: "Maria@Example.com" })).status, 200);
        const token = linkToken(await smtp.nextMail("maria@example.com"), "/reset-password");

        const reset = await post(w.app, "/api/auth/reset-password", { token, password: NEW });
        assert.equal(reset.status, 200, reset.raw);
        assert.deepEqual(reset.body, {
          message: "Your password has been reset. Please log in with your new password.",
        });

        for (const session of [phone, laptop]) {
          const record = await w.deps.sessions.findSession(sessionIdOf(session.body.token));
          assert.ok(record?.revokedAt, "the session opened with the old password is revoked");
          assert.equal(record?.revokedReason, "password_reset");
        }
        assert.equal((await postLogin(w, "maria@example.com", OLD)).status, 401);
        assert.equal((await postLogin(w, "maria@example.com", NEW)).status, 200);

        const notice = await smtp.nextMail("maria@example.com");
        assert.match(notice.decoded, /password of your Warden account was reset/);
        assert.doesNotMatch(notice.decoded, /token=/);

        const reuse = await post(w.app, "/api/auth/reset-password", { token, password: "a third fine password" });
        assert.equal(reuse.raw, '{"code":401,"message":"Invalid or expired token."}');
        const events = await w.deps.database.db
          .selectFrom("security_events")
          .select("type")
          .where("user_id", "=", user.id)
          .execute();
        assert.ok(events.some((e) => e.type === "password_reset"));
      } finally {
        await close();
      }
    },
  );

  test(`${engine.name}: a reset link dies after an hour, and when another reset link was used`, { skip }, async () => {
    const clock = new FixedClock();
    const { w, smtp, close } = await startWardenWithSmtp({ engine, clock });
    try {
      await w.createUser("ioana@example.com", OLD);
      await post(w.app, "/api/auth/forgot-password", { email: "ioana@example.com" });
      const expired = linkToken(await smtp.nextMail("ioana@example.com"), "/reset-password");
      clock.advance(3600 + 1);
      assert.equal((await post(w.app, "/api/auth/reset-password", { token: expired, password: NEW })).status, 401);

      await post(w.app, "/api/auth/forgot-password", { email: "ioana@example.com" });
      const first = linkToken(await smtp.nextMail("ioana@example.com"), "/reset-password");
      await post(w.app, "/api/auth/forgot-password", { email: "ioana@example.com" });
      const second = linkToken(await smtp.nextMail("ioana@example.com"), "/reset-password");

      // A weak password is refused with 422 and does not spend the link.
      const weak = await post(w.app, "/api/auth/reset-password", { token: second, password: "password123" });
      assert.equal(weak.status, 422);
      assert.deepEqual(weak.body.errors, { password: ["This password is too common. Please choose another one."] });
      assert.equal((await post(w.app, "/api/auth/reset-password", { token: second, password: NEW })).status, 200);
      assert.equal(
        (await post(w.app, "/api/auth/reset-password", { token: first, password: "yet another phrase" })).status,
        401,
      );
    } finally {
      await close();
    }
  });

  test(
    `${engine.name}: forgot-password answers byte for byte the same for known and unknown emails`,
    { skip },
    async () => {
      // A fixed clock, so RateLimit-Reset (whole seconds) cannot tick between the requests compared.
      const { w, smtp, close } = await startWardenWithSmtp({ engine, clock: new FixedClock() });
      try {
        await w.createUser("known@example.com", OLD);
        const known = await post(w.app, "/api/auth/forgot-password", { email: "known@example.com" }, "192.0.2.10");
        const unknown = await post(w.app, "/api/auth/forgot-password", { email: "unknown@example.com" }, "192.0.2.11");
        assert.equal(known.status, 200);
        assert.equal(unknown.status, known.status);
        assert.equal(unknown.raw, known.raw);
        const strip = ({ date: _d, "x-request-id": _r, ...rest }: Record<string, unknown>) => rest;
        assert.deepEqual(strip(unknown.headers), strip(known.headers));
        await w.deps.mailer.idle();
        assert.deepEqual(
          smtp.received.map((m) => m.to),
          ["known@example.com"],
        );
      } finally {
        await close();
      }
    },
  );
}

test("nobody can mail-bomb a user: at most 3 reset mails per hour per address, from any number of IPs", async () => {
  const clock = new FixedClock();
  const { w, smtp, close } = await startWardenWithSmtp({ clock });
  try {
    await w.createUser("target@example.com", OLD);
    for (let i = 0; i < 6; i++)
      assert.equal((await post(w.app, "/api/auth/forgot-password", { email: "target@example.com" })).status, 200);
    await w.deps.mailer.idle();
    assert.equal(smtp.received.length, 3);
    clock.advance(2 * 3600);
    await post(w.app, "/api/auth/forgot-password", { email: "target@example.com" });
    await w.deps.mailer.idle();
    assert.equal(smtp.received.length, 4);
  } finally {
    await close();
  }
});

test("forgot-password and reset-password share a limit of 3 per 15 minutes per IP", async () => {
  const { w, close } = await startWardenWithSmtp();
  try {
    const ip = "198.51.100.9";
    const statuses = [];
    for (let i = 0; i < 2; i++)
      statuses.push((await post(w.app, "/api/auth/forgot-password", { email: `x${i}@example.com` }, ip)).status);
    for (let i = 0; i < 2; i++)
      statuses.push(
        (await post(w.app, "/api/auth/reset-password", { token: "B".repeat(43), password: NEW }, ip)).status,
      );
    assert.deepEqual(statuses, [200, 200, 401, 429]);
  } finally {
    await close();
  }
});
