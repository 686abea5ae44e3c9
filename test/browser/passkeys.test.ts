/**
 * Passkeys on the hosted pages in real Chromium, with Chromium's virtual authenticator (CDP
 * `WebAuthn.addVirtualAuthenticator`: CTAP2, internal transport, user verification): add a
 * passkey on /account, sign out, sign in with it; the passkey as the second step after the
 * password; removing it when the session is no longer fresh, through "Confirm it is you".
 *
 * Warden listens on 127.0.0.1 but is reached as http://localhost: WebAuthn refuses an IP address
 * as relying-party ID, and localhost is a secure context. The RP ID and origins come from
 * configuration (PUBLIC_URL), never from the request.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { engines } from "../helpers/engines.js";
import { PASSWORD } from "../helpers/login.js";
import { freePort } from "../helpers/process.js";
import { startWarden } from "../helpers/warden.js";
import {
  addVirtualAuthenticator,
  launchChromium,
  OffsetClock,
  snapper,
  watchForErrors,
  signInOnPages,
} from "./chromium.js";

const heading = (page: Page) => page.getByRole("heading", { level: 1 }).textContent();

for (const [index, { engine, skip }] of engines.entries()) {
  test(
    `${engine.name}: Chromium: add a passkey on /account, sign in with it, use it as the second step, remove it after a step-up`,
    { skip },
    async () => {
      const port = await freePort();
      const base = `http://localhost:${port}`;
      const clock = new OffsetClock();
      const w = await startWarden({ engine, clock, env: { PUBLIC_URL: base } });
      assert.equal(w.deps.config.webauthn.rpId, "localhost");
      await w.app.listen({ port, host: "127.0.0.1" });
      const browser = await launchChromium();
      // Screenshots once: the pages look the same on either engine.
      const snap = snapper(index === 0);
      try {
        const email = `pia.${engine.name}@example.com`;
        await w.createUser(email, PASSWORD);
        const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-GB" });
        const page = await context.newPage();
        const problems = watchForErrors(page);
        const cdp = await context.newCDPSession(page);
        const authenticatorId = await addVirtualAuthenticator(cdp);

        // Sign in with the password; the session is fresh, so adding a passkey needs no step-up.
        await signInOnPages(page, base, email, PASSWORD);
        await page.waitForURL(`${base}/account`);
        await page.getByText("No passkeys yet.").waitFor();
        await page.getByLabel("Name of the new passkey").fill("Work laptop");
        await page.getByRole("button", { name: "Add a passkey" }).click();
        await page.getByRole("heading", { name: "Add a passkey" }).waitFor();
        await snap(page, "passkey-add");
        await page.getByRole("button", { name: "Create the passkey" }).click();
        await page.waitForURL(`${base}/account?notice=passkey-added`);
        await page.getByRole("status").getByText("The passkey was added.").waitFor();
        await page.getByRole("button", { name: "Remove the passkey Work laptop" }).waitFor();
        const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
        assert.equal(credentials.length, 1);
        assert.equal(credentials[0]!.isResidentCredential, true, "a discoverable credential");
        assert.equal(credentials[0]!.rpId, "localhost");
        await snap(page, "account-passkeys");

        // Sign out, then sign in with the passkey alone: no email, no password, no second step.
        await page.getByRole("link", { name: "Sign out" }).click();
        await page.getByRole("button", { name: "Sign out" }).click();
        await page.waitForURL(`${base}/login?notice=signed-out`);
        // First the person fails the fingerprint: said next to the button, in a live region.
        await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: false });
        await page.getByRole("button", { name: "Sign in with a passkey" }).click();
        const error = page.locator("#passkey-error");
        await error.getByText(/The passkey/).waitFor();
        assert.equal(await error.getAttribute("role"), "alert");
        assert.equal(page.url(), `${base}/login?notice=signed-out`, "still on the sign-in page");
        await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: true });
        await page.getByRole("button", { name: "Sign in with a passkey" }).click();
        await page.waitForURL(`${base}/account`);
        await page.getByText(`Signed in as ${email}`).waitFor();
        const events = await w.deps.events.listForUser((await w.deps.users.findByEmail(email))!.id, 5);
        const login = events.find((e) => e.type === "login_success");
        assert.deepEqual((login?.detail as { amr?: string[] }).amr, ["hwk", "mfa"]);

        // With a passkey, MFA is on: the password is followed by the passkey step.
        await page.getByRole("link", { name: "Sign out" }).click();
        await page.getByRole("button", { name: "Sign out" }).click();
        await page.waitForURL(`${base}/login?notice=signed-out`);
        await page.getByLabel("Email address").fill(email);
        await page.getByLabel("Password").fill(PASSWORD);
        await page.getByRole("button", { name: "Sign in", exact: true }).click();
        await page.getByRole("heading", { name: "Two-step verification" }).waitFor();
        await snap(page, "login-mfa-passkey");
        await page.getByRole("button", { name: "Use your passkey" }).click();
        await page.waitForURL(`${base}/account`);

        // Ten minutes later the session is no longer fresh: removing the passkey asks for it again.
        clock.offsetMs = (w.deps.config.REAUTH_MAX_AGE + 1) * 1000;
        await page.goto(`${base}/account`);
        await page.getByRole("button", { name: "Remove the passkey Work laptop" }).click();
        await page.getByRole("heading", { name: "Confirm it is you" }).waitFor();
        await snap(page, "step-up");
        await page.getByRole("button", { name: "Use your passkey" }).click();
        await page.waitForURL(`${base}/account?notice=passkey-removed`);
        await page.getByText("No passkeys yet.").waitFor();
        assert.equal(await heading(page), "Your account");

        assert.deepEqual(problems, [], "no console errors (a CSP violation would be one)");
        await context.close();
      } finally {
        await browser.close();
        await w.close();
      }
    },
  );
}
