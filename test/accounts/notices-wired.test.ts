import assert from "node:assert/strict";
import { test } from "node:test";
import { login, PASSWORD } from "../helpers/login.js";
import { FixedClock } from "../helpers/warden.js";
import { authenticatorCode, bearer } from "../mfa/mfa-helpers.js";
import { getMe, refresh, withBearer } from "../sessions/fixtures.js";
import { startWardenWithSmtp } from "./helpers.js";

/** The subject line, decoded enough to tell the notices apart. */
const subjectOf = (raw: string): string => /^Subject: (.*)$/m.exec(raw)?.[1] ?? "";

test("the flows that change an account mail the owner: password change, MFA on and off, refresh-token reuse (once)", async () => {
  const clock = new FixedClock();
  const { w, smtp, close } = await startWardenWithSmtp({
    clock,
    env: { LOGIN_RATE_LIMIT: "100/60", REFRESH_RATE_LIMIT: "100/60" },
  });
  try {
    await w.createUser("owner@example.com", PASSWORD);
    const first = await login(w, "owner@example.com", PASSWORD);
    assert.equal((await getMe(w, first.token)).status, 200);
    const seen: string[] = [];

    // Password change through PATCH /api/v1/me.
    const changed = await withBearer(w, first.token, {
      method: "PATCH",
      url: "/api/v1/me",
      payload: { currentPassword: PASSWORD, password: "a brand new passphrase" },
    });
    assert.equal(changed.status, 200, changed.raw);
    seen.push(subjectOf((await smtp.nextMail("owner@example.com")).raw));

    // MFA on, then off.
    const setup = await bearer(w, "POST", "/api/v1/me/mfa/totp/setup", first.token);
    const enabled = await bearer(w, "POST", "/api/v1/me/mfa/totp/enable", first.token, {
      code: authenticatorCode(setup.body.secret, clock),
    });
    assert.equal(enabled.status, 200, enabled.raw);
    seen.push(subjectOf((await smtp.nextMail("owner@example.com")).raw));
    const disabled = await bearer(w, "POST", "/api/v1/me/mfa/totp/disable", first.token, {
      password: "a brand new passphrase",
    });
    assert.equal(disabled.status, 200, disabled.raw);
    seen.push(subjectOf((await smtp.nextMail("owner@example.com")).raw));

    // A spent refresh token replayed after the grace window: one mail, however often it is replayed.
    const rotated = await refresh(w, first.refresh_token);
    assert.equal(rotated.status, 200, rotated.raw);
    clock.advance(60);
    assert.equal((await refresh(w, first.refresh_token)).status, 401);
    assert.equal((await refresh(w, first.refresh_token)).status, 401);
    seen.push(subjectOf((await smtp.nextMail("owner@example.com")).raw));

    assert.equal(new Set(seen).size, 4, `four different notices: ${seen.join(" | ")}`);
    // Give a (wrong) second reuse mail time to arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(
      smtp.received.filter((m) => m.to.includes("owner@example.com")).length,
      4,
      "the second replay sent no second mail",
    );
  } finally {
    await close();
  }
});
