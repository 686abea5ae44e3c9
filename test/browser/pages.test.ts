/**
 * The hosted pages in real Chromium, driven the way a person would: by labels and button
 * names, the keyboard's Enter, the links in the mails. Screenshots of each page at desktop
 * and phone size (WARDEN_SCREENSHOTS=1 writes them to docs/screenshots).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Secret, TOTP } from "otpauth";
import type { Page } from "playwright-core";
import { startWardenWithSmtp } from "../accounts/helpers.js";
import { nextMailLink } from "../accounts/smtp.js";
import { engines } from "../helpers/engines.js";
import { freePort } from "../helpers/process.js";
import { launchChromium, snapper, VIEWPORTS, watchForErrors } from "./chromium.js";

const PASSWORD = "plum tree in winter";
const NEW_PASSWORD = "a quiet river at dawn";

const heading = (page: Page) => page.getByRole("heading", { level: 1 }).textContent();

for (const [index, { engine, skip }] of engines.entries()) {
  test(
    `${engine.name}: Chromium: register, confirm from the mail, sign in, turn on TOTP, sign out, sign in with TOTP; forgot and reset`,
    { skip },
    async () => {
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const { w, smtp, close } = await startWardenWithSmtp({ engine, env: { PUBLIC_URL: base } });
      await w.app.listen({ port, host: "127.0.0.1" });
      const browser = await launchChromium();
      // Screenshots once: the pages look the same on either engine.
      const snap = snapper(index === 0);
      try {
        const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-GB" });
        const page = await context.newPage();
        const problems = watchForErrors(page);
        const email = `ana.${engine.name}@example.com`;

        // Register.
        await page.goto(`${base}/register`);
        await snap(page, "register");
        await page.getByLabel("First name").fill("Ana");
        await page.getByLabel("Last name").fill("Pop");
        await page.getByLabel("Email address").fill(email);
        await page.getByLabel("Password").fill("short");
        await page.getByRole("button", { name: "Create account" }).click();
        // Too short: said next to the field, and the summary links to it.
        await page.getByRole("alert").waitFor();
        assert.match((await page.getByRole("alert").textContent())!, /at least 8 characters/);
        assert.equal(await page.getByLabel("Password").getAttribute("aria-invalid"), "true");
        assert.equal(await page.evaluate(() => document.activeElement?.className), "summary", "focus on the summary");
        await snap(page, "register-error");
        await page.getByLabel("Password").fill(PASSWORD);
        await page.getByLabel("Password").press("Enter");
        await page.waitForURL(`${base}/register`);
        assert.equal(await heading(page), "Check your email");
        await snap(page, "check-email");

        // Confirm from the mail.
        const confirmLink = await nextMailLink(smtp, email, base, "/confirm-email");
        await page.goto(confirmLink);
        assert.equal(await heading(page), "Confirm your email address");
        await snap(page, "confirm-email");
        await page.getByRole("button", { name: "Confirm my email address" }).click();
        await page.getByRole("heading", { name: "Email address confirmed" }).waitFor();

        // Sign in.
        await page.getByRole("link", { name: "Sign in" }).last().click();
        await page.waitForURL(`${base}/login`);
        await snap(page, "login");
        await page.getByLabel("Email address").fill(email);
        await page.getByLabel("Password").fill(PASSWORD);
        await page.getByLabel("Password").press("Enter");
        await page.waitForURL(`${base}/account`);
        assert.equal(await heading(page), "Your account");
        await page.getByText(`Signed in as ${email}`).waitFor();

        // Turn on TOTP from the QR page; the code is computed here, as an authenticator app would.
        await page.getByRole("button", { name: "Set up an authenticator app" }).click();
        await page.getByRole("img", { name: /QR code/ }).waitFor();
        await snap(page, "totp-setup");
        const secret = (await page.locator("#totp-secret").textContent())!.replace(/\s+/g, "");
        assert.match(secret, /^[A-Z2-7]{32}$/);
        const code = (offsetMs = 0) =>
          TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: Date.now() + offsetMs });
        await page.getByLabel("Code from your authenticator app").fill(code());
        await page.getByRole("button", { name: "Turn on" }).click();
        await page.getByRole("heading", { name: "Save your backup codes" }).waitFor();
        const backupCodes = await page.locator(".codes code").allTextContents();
        assert.equal(backupCodes.length, 10);
        await snap(page, "backup-codes");
        await page.getByRole("link", { name: "I saved them" }).click();
        await page.getByText("Sign-ins ask for a code").waitFor();
        await snap(page, "account");
        // On a phone the security log fits the screen: every entry's four values in view, no sideways scroll.
        await page.setViewportSize(VIEWPORTS.phone);
        const log = page.getByRole("table");
        const scroller = log.locator("xpath=..");
        assert.ok(await scroller.evaluate((el) => el.scrollWidth <= el.clientWidth), "the log scrolls sideways");
        const entry = log.getByRole("row").filter({ hasText: "Account created" });
        for (const cell of await entry.getByRole("cell").all()) {
          const box = (await cell.boundingBox())!;
          assert.ok(
            box.x >= 0 && box.x + box.width <= VIEWPORTS.phone.width,
            `off screen: ${await cell.textContent()}`,
          );
        }
        assert.equal(await entry.getByRole("cell").count(), 4);
        await page.setViewportSize(VIEWPORTS.desktop);

        // Sign out.
        await page.getByRole("link", { name: "Sign out" }).click();
        await page.waitForURL(`${base}/logout`);
        await snap(page, "logout");
        await page.getByRole("button", { name: "Sign out" }).click();
        await page.waitForURL(`${base}/login?notice=signed-out`);
        await page.getByRole("status").getByText("You are signed out.").waitFor();
        assert.equal(
          (await context.cookies()).find((c) => c.name === "__refresh__token"),
          undefined,
        );

        // Sign in again: now with the TOTP step. The enabling code's step is spent, so the next one.
        await page.getByLabel("Email address").fill(email);
        await page.getByLabel("Password").fill(PASSWORD);
        await page.getByRole("button", { name: "Sign in", exact: true }).click();
        await page.getByRole("heading", { name: "Two-step verification" }).waitFor();
        assert.equal(await page.evaluate(() => document.activeElement?.id), "totp", "focus on the code field");
        await snap(page, "login-mfa");
        await page.getByLabel("Code from your authenticator app").fill("000000");
        await page.getByLabel("Code from your authenticator app").press("Enter");
        await page.getByRole("alert").getByText("Invalid code.").waitFor();
        await page.getByLabel("Code from your authenticator app").fill(code(30_000));
        await page.getByLabel("Code from your authenticator app").press("Enter");
        await page.waitForURL(`${base}/account`);
        const refresh = (await context.cookies()).find((c) => c.name === "__refresh__token");
        assert.ok(refresh, "the refresh cookie");
        assert.equal(refresh.httpOnly, true);
        assert.equal(refresh.path, "/api/auth");
        assert.equal(refresh.sameSite, "Lax");
        assert.equal(
          await page.evaluate(() => document.cookie.includes("__refresh__token")),
          false,
          "no script reads it",
        );

        // Forgot and reset, in a fresh browser; then sign in with a backup code.
        const other = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "ro-RO" });
        const page2 = await other.newPage();
        problems.push(...watchForErrors(page2));
        await page2.goto(`${base}/forgot-password?lang=en`);
        await snap(page2, "forgot-password");
        await page2.getByLabel("Email address").fill(email);
        await page2.getByRole("button", { name: "Send the link" }).click();
        await page2.getByText(/If an account with this email address exists/).waitFor();
        const resetLink = await nextMailLink(smtp, email, base, "/reset-password");
        await page2.goto(resetLink);
        assert.equal(await heading(page2), "Choose a new password");
        await snap(page2, "reset-password");
        await page2.getByLabel("New password").fill(NEW_PASSWORD);
        await page2.getByRole("button", { name: "Save the new password" }).click();
        await page2.getByText(/Your password has been changed/).waitFor();
        await page2.goto(`${base}/login?lang=ro`);
        assert.equal(await page2.getAttribute("html", "lang"), "ro");
        await snap(page2, "login-ro");
        await page2.getByLabel("Adresa de email").fill(email);
        await page2.getByLabel("Parola").fill(NEW_PASSWORD);
        await page2.getByRole("button", { name: "Autentifică-te", exact: true }).click();
        await page2.getByText("Folosește un cod de rezervă").click();
        await page2.getByLabel("Cod de rezervă").fill(backupCodes[0]!);
        await page2.getByLabel("Cod de rezervă").press("Enter");
        await page2.waitForURL(`${base}/account`);
        assert.equal(await heading(page2), "Contul tău");
        await snap(page2, "account-ro");

        // The reset signed the first browser out everywhere.
        await page.goto(`${base}/account`);
        await page.waitForURL(/\/login/);

        assert.deepEqual(problems, [], "no console errors (a CSP violation would be one)");
        // Both links were requested (and logged at info), but whoever reads the log cannot use them.
        for (const link of [confirmLink, resetLink]) {
          const token = new URL(link).searchParams.get("token")!;
          assert.ok(!w.logLines.some((line) => line.includes(token)), `a mailed token is in the log: ${link}`);
        }
        assert.ok(w.logLines.some((line) => line.includes('"url":"/reset-password?token=[redacted]"')));
        await context.close();
        await other.close();
      } finally {
        await browser.close();
        await close();
      }
    },
  );
}
