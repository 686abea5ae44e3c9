/** PUBLIC_URL is Warden's own address (issuer, JWKS); APP_URL only builds the links in mails. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { post, startWardenWithSmtp } from "../accounts/helpers.js";
import { engines } from "../helpers/engines.js";

for (const { engine, skip } of engines) {
  test(`${engine.name}: discovery names PUBLIC_URL; the confirmation mail links to APP_URL`, { skip }, async () => {
    const { w, smtp, close } = await startWardenWithSmtp({
      engine,
      env: { PUBLIC_URL: "https://auth.example.com", APP_URL: "https://app.example.com/" },
    });
    try {
      const discovery = await w.app.inject({ method: "GET", url: "/.well-known/openid-configuration" });
      assert.equal(discovery.json().issuer, "https://auth.example.com");
      assert.equal(discovery.json().jwks_uri, "https://auth.example.com/.well-known/jwks.json");

      const registered = await post(w.app, "/api/auth/register", { email: "lia@example.com", password: "plum tree" });
      assert.equal(registered.status, 201, registered.raw);
      const mail = await smtp.nextMail("lia@example.com");
      assert.match(mail.decoded, /https:\/\/app\.example\.com\/confirm-email\?token=[A-Za-z0-9_-]{43}/);
      assert.doesNotMatch(mail.decoded, /auth\.example\.com/);
    } finally {
      await close();
    }
  });
}
