/**
 * A new sign-in address on the hosted pages, in real Chromium: the account page's form, the
 * link from the mail opened in the same browser (its page changes nothing until the button is
 * pressed), then signing in with the new address while the old one is refused.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { startWardenWithSmtp } from "../accounts/helpers.js";
import { nextMailLink } from "../accounts/smtp.js";
import { engines } from "../helpers/engines.js";
import { PASSWORD, postLogin } from "../helpers/login.js";
import { freePort } from "../helpers/process.js";
import { launchChromium, snapper, watchForErrors, signInOnPages } from "./chromium.js";

for (const [index, { engine, skip }] of engines.entries()) {
  test(
    `${engine.name}: Chromium: a new email address from the account page, confirmed from the mailed link`,
    { skip },
    async () => {
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const { w, smtp, close } = await startWardenWithSmtp({ engine, env: { PUBLIC_URL: base } });
      await w.app.listen({ port, host: "127.0.0.1" });
      const browser = await launchChromium();
      const snap = snapper(index === 0);
      try {
        const email = `mara.${engine.name}@example.com`;
        const newEmail = `mara.new.${engine.name}@example.com`;
        await w.createUser(email, PASSWORD);
        const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-GB" });
        const page = await context.newPage();
        const problems = watchForErrors(page);

        await signInOnPages(page, base, email, PASSWORD);
        await page.waitForURL(`${base}/account`);
        await page.getByText(`You sign in with ${email}.`).waitFor();

        // Not an address: said next to the field, which keeps what was typed.
        await page.getByLabel("New email address").fill("mara at example");
        await page.getByRole("button", { name: "Send the link" }).click();
        await page.locator("#email-error").getByText("This value is not a valid email address.").waitFor();
        assert.equal(await page.getByLabel("New email address").inputValue(), "mara at example");

        await page.getByLabel("New email address").fill(newEmail);
        await page.getByRole("button", { name: "Send the link" }).click();
        await page.waitForURL(`${base}/account?notice=email-change-sent`);
        await page.getByRole("status").getByText("We have emailed a link to the new address.").waitFor();
        await page.getByText(`You sign in with ${email}.`).waitFor(); // not changed yet

        // The link, as the mail client opens it: a page with a button; the address changes on it.
        const link = await nextMailLink(smtp, newEmail, base, "/confirm-email-change");
        await page.goto(link);
        await page.getByRole("heading", { name: "Confirm your new email address" }).waitFor();
        await snap(page, "confirm-email-change");
        assert.equal((await postLogin(w, email, PASSWORD)).status, 200, "opening the page changed nothing");
        await page.getByRole("button", { name: "Use this address" }).click();
        await page.getByRole("heading", { name: "Email address changed" }).waitFor();
        await page.getByRole("link", { name: "Your account" }).first().click();
        await page.getByText(`You sign in with ${newEmail}.`).waitFor();

        assert.equal((await postLogin(w, email, PASSWORD)).status, 401, "the old address signs in no more");
        assert.equal((await postLogin(w, newEmail, PASSWORD)).status, 200);
        assert.deepEqual(problems, [], "no console errors (a CSP violation would be one)");
        await context.close();
      } finally {
        await browser.close();
        await close();
      }
    },
  );
}
