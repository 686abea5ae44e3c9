/**
 * API keys on /account in real Chromium: create one (name, a scope from the catalogue, an
 * expiry), see it once with its "copy it now" note, find it listed by its prefix only, replace it
 * (the new key shown once, the old one dead), revoke it after the confirmation page. No JavaScript involved: plain forms. Then the SDK's calls from an app on
 * another origin: the scopes, a new key (refused with isStepUpRequired once the session is old),
 * the list, revoking.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SCOPES_FILE } from "../api-keys/fixtures.js";
import { engines, sqliteEngine } from "../helpers/engines.js";
import { PASSWORD } from "../helpers/login.js";
import { freePort } from "../helpers/process.js";
import { startWarden } from "../helpers/warden.js";
import { inApp, startAppOrigin } from "./app-origin.js";
import { launchChromium, OffsetClock, snapper, watchForErrors, signInOnPages } from "./chromium.js";

for (const [index, { engine, skip }] of engines.entries()) {
  test(
    `${engine.name}: Chromium: create an API key on /account, see it once, replace it, revoke it`,
    { skip },
    async () => {
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const w = await startWarden({ engine, env: { PUBLIC_URL: base, API_KEY_SCOPES_FILE: SCOPES_FILE } });
      await w.app.listen({ port, host: "127.0.0.1" });
      const browser = await launchChromium();
      const snap = snapper(index === 0);
      try {
        const email = `kai.${engine.name}@example.com`;
        await w.createUser(email, PASSWORD);
        const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-GB" });
        const page = await context.newPage();
        const problems = watchForErrors(page);

        await signInOnPages(page, base, email, PASSWORD);
        await page.waitForURL(`${base}/account`);
        await page.getByText("No API keys yet.").waitFor();

        // Forgetting the scopes: said next to them, and the summary takes the focus.
        await page.getByLabel("Name of the new key").fill("CI deploys");
        await page.getByRole("button", { name: "Create the key" }).click();
        await page.locator("#apiKeyScopes-error").getByText("Choose at least one scope.").waitFor();
        assert.equal(await page.getByLabel("Name of the new key").inputValue(), "CI deploys", "the name kept");

        await page.getByRole("checkbox", { name: /Read invoices/ }).check();
        assert.equal(await page.getByRole("radio", { name: "In 90 days" }).isChecked(), true, "90 days unless chosen");
        await page.getByRole("radio", { name: "In 30 days" }).check();
        await page.getByRole("button", { name: "Create the key" }).click();
        await page.getByRole("heading", { name: "Your new API key" }).waitFor();
        await page.getByText(/Copy the key now/).waitFor();
        const key = await page.getByLabel("The key “CI deploys”").inputValue();
        assert.match(key, /^af_[0-9a-f]{64}$/);
        await snap(page, "api-key-created");
        const me = await fetch(`${base}/api/v1/me`, { headers: { authorization: key } });
        assert.equal(me.status, 200, "the key works");

        await page.getByRole("link", { name: "I have copied it" }).click();
        await page.waitForURL(`${base}/account`);
        const listed = page.locator("#api-key-list li", { hasText: "CI deploys" });
        await listed.getByText(`${key.slice(0, 12)}…`).waitFor();
        assert.equal((await page.content()).includes(key), false, "shown once only");
        await listed.getByText("Expires").waitFor();
        const [stored] = await w.deps.apiKeys.listForUser((await w.deps.users.findByEmail(email))!.id);
        const lifetime = stored!.expiresAt!.getTime() - stored!.createdAt.getTime();
        assert.ok(Math.abs(lifetime - 30 * 86_400_000) < 1000, `30 days on: ${lifetime} ms`);
        await snap(page, "account-api-keys");

        // Replace it: asked first, then the new key once; the old one stops working.
        await page.getByRole("button", { name: "Replace the API key CI deploys" }).click();
        await page.getByRole("heading", { name: "Replace the API key" }).waitFor();
        await snap(page, "api-key-rotate");
        await page.getByRole("button", { name: "Replace the key" }).click();
        await page.getByRole("heading", { name: "Your replacement API key" }).waitFor();
        await page.getByText("The API key was replaced: the old one no longer works.").waitFor();
        const replacement = await page.getByLabel("The key “CI deploys”").inputValue();
        assert.notEqual(replacement, key);
        assert.equal((await fetch(`${base}/api/v1/me`, { headers: { authorization: key } })).status, 403);
        assert.equal((await fetch(`${base}/api/v1/me`, { headers: { authorization: replacement } })).status, 200);
        await page.getByRole("link", { name: "I have copied it" }).click();
        await listed.getByText(`${replacement.slice(0, 12)}…`).waitFor();

        const revoke = page.getByRole("button", { name: "Revoke the API key CI deploys" });
        assert.equal(await revoke.textContent(), "Revoke");
        await revoke.click();
        await page.getByRole("heading", { name: "Revoke the API key" }).waitFor();
        await page.getByRole("button", { name: "Revoke the key" }).click();
        await page.waitForURL(`${base}/account?notice=api-key-revoked`);
        await page.getByRole("status").getByText("The API key was revoked.").waitFor();
        await page.getByText("No API keys yet.").waitFor();
        assert.equal((await fetch(`${base}/api/v1/me`, { headers: { authorization: replacement } })).status, 403);

        assert.deepEqual(problems, [], "no console errors (a CSP violation would be one)");
        await context.close();
      } finally {
        await browser.close();
        await w.close();
      }
    },
  );
}

test("SDK: listApiKeyScopes, createApiKey (sensitive), listApiKeys, updateApiKey, rotateApiKey (sensitive), revokeApiKey from an app on another origin", async () => {
  const app = await startAppOrigin();
  const clock = new OffsetClock();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const w = await startWarden({
    engine: sqliteEngine,
    clock,
    env: { PUBLIC_URL: base, CORS_ORIGINS: app.origin, API_KEY_SCOPES_FILE: SCOPES_FILE },
  });
  await w.app.listen({ port, host: "127.0.0.1" });
  const browser = await launchChromium();
  try {
    const email = "sdk.keys@example.com";
    await w.createUser(email, PASSWORD);
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = watchForErrors(page);
    await page.goto(`${app.origin}/?${new URLSearchParams({ warden: base })}`);
    await page.locator("body[data-ready=yes]").waitFor({ state: "attached" });
    await inApp(page, "await warden.login(arg.email, arg.password)", { email, password: PASSWORD });

    const scopes = await inApp<Array<{ value: string }>>(page, "return warden.listApiKeyScopes()");
    assert.deepEqual(
      scopes.map((s) => s.value),
      ["invoices:read", "invoices:write"],
      "only what this user may grant",
    );
    const created = await inApp<{ id: string; token: string; tokenPrefix: string; scopes: string[] }>(
      page,
      'return warden.createApiKey({ name: "CI", scopes: ["invoices:read"] })',
    );
    assert.match(created.token, /^af_[0-9a-f]{64}$/);
    assert.equal(created.tokenPrefix, created.token.slice(0, 12));
    const listed = await inApp<Array<{ id: string; tokenPrefix: string; revokedAt: string | null }>>(
      page,
      "return warden.listApiKeys()",
    );
    assert.deepEqual(
      listed.map((k) => [k.id, k.tokenPrefix, k.revokedAt]),
      [[created.id, created.tokenPrefix, null]],
    );
    assert.equal(Object.hasOwn(listed[0]!, "token"), false, "the key is never listed");

    // Renamed with a second scope (a PATCH, across origins), then replaced: the old key dies.
    const updated = await inApp<{ id: string; name: string; scopes: string[] }>(
      page,
      'return warden.updateApiKey(arg, { name: "CI (both)", scopes: ["invoices:read", "invoices:write"] })',
      created.id,
    );
    assert.deepEqual(
      [updated.id, updated.name, updated.scopes],
      [created.id, "CI (both)", ["invoices:read", "invoices:write"]],
    );
    const rotated = await inApp<{ id: string; name: string; token: string; scopes: string[] }>(
      page,
      "return warden.rotateApiKey(arg)",
      created.id,
    );
    assert.match(rotated.token, /^af_[0-9a-f]{64}$/);
    assert.deepEqual([rotated.name, rotated.scopes], ["CI (both)", ["invoices:read", "invoices:write"]]);
    assert.notEqual(rotated.id, created.id);
    assert.equal((await fetch(`${base}/api/v1/me`, { headers: { authorization: created.token } })).status, 403);
    assert.equal((await fetch(`${base}/api/v1/me`, { headers: { authorization: rotated.token } })).status, 200);

    await inApp(page, "await warden.revokeApiKey(arg)", rotated.id);
    const after = await inApp<Array<{ id: string; revokedAt: string | null }>>(page, "return warden.listApiKeys()");
    assert.ok(after.find((k) => k.id === rotated.id)!.revokedAt, "revoked");
    assert.equal((await fetch(`${base}/api/v1/me`, { headers: { authorization: rotated.token } })).status, 403);

    // Ten minutes on, a new key is a sensitive operation: refused with isStepUpRequired.
    clock.offsetMs = (w.deps.config.REAUTH_MAX_AGE + 1) * 1000;
    const refused = await inApp<{ error: { status: number; stepUp: boolean } }>(
      page,
      'return warden.createApiKey({ name: "Late", scopes: ["invoices:read"] })',
    );
    assert.equal(refused.error.status, 403);
    assert.equal(refused.error.stepUp, true);
    const late = await inApp<{ error: { status: number; stepUp: boolean } }>(
      page,
      "return warden.rotateApiKey(arg)",
      created.id,
    );
    assert.deepEqual([late.error.status, late.error.stepUp], [403, true], "rotating is sensitive too");

    assert.deepEqual(problems, [], "no console errors");
    await context.close();
  } finally {
    await browser.close();
    await w.close();
    await app.close();
  }
});
