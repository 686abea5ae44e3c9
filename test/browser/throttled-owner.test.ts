/**
 * The account budget on the hosted pages, in real Chromium (a browser decides which cookies a
 * path gets; inject() would not): while wrong passwords from elsewhere throttle an account, the
 * owner's browser that signed in before still signs in through /login, on a network never seen,
 * by its device cookie alone; a new browser is refused and gets in through the unlock link of
 * the mail, which opens a hosted page (APP_URL defaults to PUBLIC_URL).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import { startWardenWithSmtp } from "../accounts/helpers.js";
import { nextMailLink } from "../accounts/smtp.js";
import { engines } from "../helpers/engines.js";
import { PASSWORD } from "../helpers/login.js";
import { freePort } from "../helpers/process.js";
import { postJson } from "../helpers/warden.js";
import { launchChromium, snapper, watchForErrors, signInOnPages } from "./chromium.js";

const THROTTLED = "Too many failed login attempts for this account. Please try again later.";

const heading = (page: Page) => page.getByRole("heading", { level: 1 }).textContent();

/** A browser context whose requests come from `ip` (Warden trusts the loopback proxy's X-Forwarded-For). */
const from = (context: BrowserContext, ip: string) => context.setExtraHTTPHeaders({ "x-forwarded-for": ip });

const signIn = (page: Page, base: string, email: string) => signInOnPages(page, base, email, PASSWORD);

for (const [index, { engine, skip }] of engines.entries()) {
  test(
    `${engine.name}: Chromium: a throttled account; the owner's browser signs in by its device cookie, a new one through the mailed unlock page`,
    { skip },
    async () => {
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const { w, smtp, close } = await startWardenWithSmtp({
        engine,
        env: { PUBLIC_URL: base, ACCOUNT_FAILURE_LIMIT: "3/3600", TRUST_PROXY: "127.0.0.1" },
      });
      await w.app.listen({ port, host: "127.0.0.1" });
      const browser = await launchChromium();
      // Screenshots once: the pages look the same on either engine.
      const snap = snapper(index === 0);
      try {
        const email = `owner.${engine.name}@example.com`;
        await w.createUser(email, PASSWORD);

        // The owner signs in once from their laptop, at home.
        const laptop = await browser.newContext({ locale: "en-GB" });
        await from(laptop, "198.51.100.10");
        const laptopPage = await laptop.newPage();
        const problems = watchForErrors(laptopPage);
        await signIn(laptopPage, base, email);
        await laptopPage.waitForURL(`${base}/account`);
        const device = (await laptop.cookies()).find((c) => c.name.startsWith("wd_"));
        assert.ok(device, "the sign-in made the laptop a known device");
        assert.equal(device.path, "/login", "the cookie goes where the pages sign in");
        assert.equal(device.httpOnly, true);
        assert.equal(device.sameSite, "Strict");

        // Someone spends the account's budget from elsewhere.
        for (let i = 0; i < 4; i++) {
          const guess = await postJson(
            w.app,
            "/api/auth",
            { email, password: `guess ${i}` },
            {},
            {
              remoteAddress: `10.66.0.${i + 1}`,
            },
          );
          assert.equal(guess.status, i < 3 ? 401 : 429);
        }

        // The laptop, now on a network no session of the owner ever used: in, by the cookie alone.
        await from(laptop, "203.0.113.51");
        await signIn(laptopPage, base, email);
        await laptopPage.waitForURL(`${base}/account`);
        assert.equal(await heading(laptopPage), "Your account");

        // A new browser on another network: refused, like everyone else.
        const phone = await browser.newContext({ locale: "en-GB" });
        await from(phone, "203.0.113.60");
        const phonePage = await phone.newPage();
        problems.push(...watchForErrors(phonePage));
        const [refusal] = await Promise.all([
          phonePage.waitForResponse((r) => r.url() === `${base}/login` && r.request().method() === "POST"),
          signIn(phonePage, base, email),
        ]);
        assert.equal(refusal.status(), 429);
        assert.ok(Number(refusal.headers()["retry-after"]) > 0, "Retry-After");
        // The sign-in form again, saying why and what to do, the same whether the account exists.
        const summary = phonePage.getByRole("alert");
        await summary.getByText(THROTTLED).waitFor();
        await summary.getByText(/we have emailed it a link to sign in from this browser/).waitFor();
        assert.equal(await phonePage.getByLabel("Email address").inputValue(), email);
        await snap(phonePage, "login-throttled");

        // The mail's link opens a hosted page; a mail scanner fetching it first spends nothing.
        const link = await nextMailLink(smtp, email, base, "/unlock-account");
        assert.equal((await fetch(link)).status, 200);
        await phonePage.goto(link);
        assert.equal(await heading(phonePage), "Unlock sign-in");
        await snap(phonePage, "unlock-account");
        await phonePage.getByRole("button", { name: "Unlock sign-in" }).click();
        await phonePage.getByRole("heading", { name: "Sign-in unlocked" }).waitFor();
        const phoneDevice = (await phone.cookies()).find((c) => c.name.startsWith("wd_"));
        assert.equal(phoneDevice?.path, "/login", "opening the link made the phone a known device");
        await phonePage.getByRole("link", { name: "Sign in" }).last().click();
        await phonePage.waitForURL(/\/login/);
        await signIn(phonePage, base, email);
        await phonePage.waitForURL(`${base}/account`);

        // The link works once.
        await phonePage.goto(link);
        await phonePage.getByRole("button", { name: "Unlock sign-in" }).click();
        await phonePage.getByRole("heading", { name: "This link does not work" }).waitFor();

        assert.deepEqual(problems, [], "no console errors (a CSP violation would be one)");
        await laptop.close();
        await phone.close();
      } finally {
        await browser.close();
        await close();
      }
    },
  );
}
