/** Contract residues of issue 10: honest Retry-After, unknown tokens are 401, a resend after 60 s. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { startWardenWithSmtp } from "../accounts/helpers.js";
import { linkToken } from "../accounts/smtp.js";
import { engines } from "../helpers/engines.js";
import { FixedClock, postJson, startWarden } from "../helpers/warden.js";

const PASSWORD = "correct horse battery";

for (const { engine, skip } of engines) {
  test(
    `${engine.name}: a 429 of the 5/60 s login limit never asks for more than 60 s, ratelimit-reset says the same, and the retry then passes`,
    { skip },
    async () => {
      const clock = new FixedClock(new Date("2026-01-15T10:00:00Z"));
      const w = await startWarden({ engine, clock });
      try {
        // A burst at every offset into the window, each from its own address.
        const start = clock.now().getTime();
        for (let offset = 0; offset < 60; offset += 6) {
          // Three minutes apart, `offset` seconds into a window: no earlier burst weighs.
          clock.advance((start + offset * 30_000 + offset * 1000 - clock.now().getTime()) / 1000);
          const from = { remoteAddress: `198.51.100.${offset + 1}` };
          const attempt = () => postJson(w.app, "/api/auth", { email: "nobody@example.com", password: "x" }, {}, from);
          for (let i = 0; i < 5; i++) assert.equal((await attempt()).status, 401);
          const refused = await attempt();
          assert.equal(refused.status, 429);
          const retryAfter = Number(refused.headers["retry-after"]);
          assert.ok(
            retryAfter >= 1 && retryAfter <= 60,
            `offset ${offset}: Retry-After ${retryAfter} exceeds the window`,
          );
          assert.equal(refused.headers["ratelimit-reset"], String(retryAfter), `offset ${offset}`);
          clock.advance(retryAfter - 1);
          assert.equal((await attempt()).status, 429, `offset ${offset}: not before Retry-After`);
          clock.advance(1);
          assert.equal((await attempt()).status, 401, `offset ${offset}: allowed once Retry-After has passed`);
        }
      } finally {
        await w.close();
      }
    },
  );

  test(
    `${engine.name}: a well-formed but unknown confirmation or reset token is 401 "invalid", not 400`,
    { skip },
    async () => {
      const w = await startWarden({ engine });
      try {
        for (const token of ["a".repeat(64), "0123456789abcdef".repeat(4), "B".repeat(43)]) {
          const confirm = await postJson(w.app, "/api/auth/confirm-email", { token });
          assert.equal(confirm.raw, '{"code":401,"message":"Invalid or expired token."}', token);
          const reset = await postJson(w.app, "/api/auth/reset-password", { token, password: "a long new password 1" });
          assert.equal(reset.raw, '{"code":401,"message":"Invalid or expired token."}', token);
        }
        // Not token-shaped at all: still the 400 of a bad format.
        assert.equal((await postJson(w.app, "/api/auth/confirm-email", { token: "abc" })).status, 400);
        assert.equal((await postJson(w.app, "/api/auth/confirm-email", { token: "a b".repeat(20) })).status, 400);
      } finally {
        await w.close();
      }
    },
  );

  test(
    `${engine.name}: resend-confirmation right after registering sends nothing, 61 s later it sends a new link`,
    { skip },
    async () => {
      const clock = new FixedClock(new Date("2026-01-15T10:00:30Z"));
      const { w, smtp, close } = await startWardenWithSmtp({ engine, clock });
      try {
        const email = "resend@example.com";
        assert.equal((await postJson(w.app, "/api/auth/register", { email, password: PASSWORD })).status, 201);
        const first = linkToken(await smtp.nextMail(email), "/confirm-email");

        clock.advance(5);
        assert.equal((await postJson(w.app, "/api/auth/resend-confirmation", { email })).status, 200);
        await w.deps.mailer.idle();
        assert.equal(smtp.received.filter((m) => m.to === email).length, 1, "no second mail within the minute");

        clock.advance(56);
        assert.equal((await postJson(w.app, "/api/auth/resend-confirmation", { email })).status, 200);
        const second = linkToken(await smtp.nextMail(email), "/confirm-email");
        assert.notEqual(second, first);
        assert.equal((await postJson(w.app, "/api/auth/confirm-email", { token: second })).status, 200);
      } finally {
        await close();
      }
    },
  );
}
