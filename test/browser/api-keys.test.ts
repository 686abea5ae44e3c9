/**
 * API keys on /account in real Chromium: create one (name and a scope from the catalogue), see
 * it once with its "copy it now" note, find it listed by its prefix only, revoke it after the
 * confirmation page. No JavaScript involved: plain forms.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SCOPES_FILE } from "../api-keys/fixtures.js";
import { engines } from "../helpers/engines.js";
import { PASSWORD } from "../helpers/login.js";
import { freePort } from "../helpers/process.js";
import { startWarden } from "../helpers/warden.js";
import { launchChromium, snapper, watchForErrors } from "./chromium.js";

for (const [index, { engine, skip }] of engines.entries()) {
  test(`${engine.name}: Chromium: create an API key on /account, see it once, revoke it`, { skip }, async () => {
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

      await page.goto(`${base}/login`);
      await page.getByLabel("Email address").fill(email);
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByLabel("Password").press("Enter");
      await page.waitForURL(`${base}/account`);
      await page.getByText("No API keys yet.").waitFor();

      // Forgetting the scopes: said next to them, and the summary takes the focus.
      await page.getByLabel("Name of the new key").fill("CI deploys");
      await page.getByRole("button", { name: "Create the key" }).click();
      await page.locator("#apiKeyScopes-error").getByText("Choose at least one scope.").waitFor();
      assert.equal(await page.getByLabel("Name of the new key").inputValue(), "CI deploys", "the name kept");

      await page.getByRole("checkbox", { name: /Read invoices/ }).check();
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
      await snap(page, "account-api-keys");

      const revoke = page.getByRole("button", { name: "Revoke the API key CI deploys" });
      assert.equal(await revoke.textContent(), "Revoke");
      await revoke.click();
      await page.getByRole("heading", { name: "Revoke the API key" }).waitFor();
      await page.getByRole("button", { name: "Revoke the key" }).click();
      await page.waitForURL(`${base}/account?notice=api-key-revoked`);
      await page.getByRole("status").getByText("The API key was revoked.").waitFor();
      await page.getByText("No API keys yet.").waitFor();
      assert.equal((await fetch(`${base}/api/v1/me`, { headers: { authorization: key } })).status, 403);

      assert.deepEqual(problems, [], "no console errors (a CSP violation would be one)");
      await context.close();
    } finally {
      await browser.close();
      await w.close();
    }
  });
}
