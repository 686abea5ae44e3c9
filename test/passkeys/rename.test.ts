/** Renaming a passkey (PATCH /api/v1/me/passkeys/{id}, and the account page's form), on both engines. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { engines } from "../helpers/engines.js";
import { PASSWORD } from "../helpers/login.js";
import { hidden, PageBrowser } from "../helpers/page-browser.js";
import { startWarden, withBearer } from "../helpers/warden.js";
import { passkeyFixture } from "../contract/passkey-store.js";
import { authenticator, GENEROUS_LIMITS, userWithPasskey } from "./passkey-helpers.js";

for (const { engine, skip } of engines) {
  test(
    `${engine.name}: a passkey is renamed by its owner only; a blank or overlong name is a 400`,
    { skip },
    async () => {
      const w = await startWarden({ engine, env: GENEROUS_LIMITS });
      try {
        const { token, passkey } = await userWithPasskey(w, "ana@example.com", authenticator());
        const other = await userWithPasskey(w, "bob@example.com", authenticator());
        const rename = (as: string, id: string, name: unknown) =>
          withBearer(w, as, {
            method: "PATCH",
            url: `/api/v1/me/passkeys/${id}`,
            headers: { "content-type": "application/json" },
            payload: JSON.stringify({ name }),
          });

        const renamed = await rename(token, passkey.id, "  Work laptop ");
        assert.equal(renamed.status, 200, renamed.raw);
        assert.deepEqual(renamed.body, { ...passkey, name: "Work laptop" });
        const listed = await withBearer(w, token, { method: "GET", url: "/api/v1/me/passkeys" });
        assert.equal(listed.body[0].name, "Work laptop");

        assert.deepEqual((await rename(token, other.passkey.id, "Mine now")).body, {
          code: 404,
          message: "Passkey not found.",
        });
        assert.equal(
          (await withBearer(w, other.token, { method: "GET", url: "/api/v1/me/passkeys" })).body[0].name,
          "Test key",
          "another user's passkey is untouched",
        );
        const blank = await rename(token, passkey.id, "   ");
        assert.equal(blank.status, 400);
        assert.deepEqual(blank.body.errors, { name: ["This value should not be blank."] });
        const long = await rename(token, passkey.id, "x".repeat(101));
        assert.deepEqual(long.body.errors, {
          name: ["This value is too long. It should have 100 characters or less."],
        });
        assert.equal((await rename(token, passkey.id, 42)).status, 400);

        const events = await withBearer(w, token, { method: "GET", url: "/api/v1/me/security-events" });
        assert.ok((events.body.data as Array<{ type: string }>).some((e) => e.type === "passkey_renamed"));

        // The account page: a "Rename" form under each passkey; a blank name is said next to it.
        // (A user signed in with the password alone, whose passkey is stored directly: the page's
        // sign-in would otherwise ask for the passkey as the second step.)
        const cleo = await w.createUser("cleo@example.com", PASSWORD);
        const page = new PageBrowser(w);
        const signedIn = await page.post("/login", {
          _csrf: await page.csrfOf("/login"),
          email: "cleo@example.com",
          password: PASSWORD,
        });
        assert.equal(signedIn.statusCode, 303, signedIn.body);
        const stored = passkeyFixture(cleo.id, { name: "Work laptop" });
        assert.ok(await w.deps.passkeys.insert(stored));
        const account = await page.get("/account");
        assert.match(account.body, /<summary>Rename<\/summary>/);
        assert.match(account.body, new RegExp(`id="rename-${stored.id}" name="name" type="text" value="Work laptop"`));
        const csrf = hidden(account.body, "_csrf");
        const refused = await page.post("/account/passkeys/rename", { _csrf: csrf, id: stored.id, name: " " });
        assert.equal(refused.statusCode, 400);
        assert.match(
          refused.body,
          new RegExp(`id="rename-${stored.id}-error"><span>This value should not be blank\\.`),
        );
        assert.match(refused.body, /<details class="rename" open>/);
        const saved = await page.post("/account/passkeys/rename", { _csrf: csrf, id: stored.id, name: "Phone" });
        assert.equal(saved.statusCode, 303);
        assert.equal(saved.headers.location, "/account?notice=passkey-renamed");
        const after = await page.get("/account?notice=passkey-renamed&lang=ro");
        assert.match(after.body, /Cheia de acces a fost redenumită\./);
        assert.match(after.body, /<strong>Phone<\/strong>/);
      } finally {
        await w.close();
      }
    },
  );
}
