/**
 * "Continue with Google / Apple" in real Chromium against two fake identity providers on
 * 127.0.0.1 (test/helpers/identity-provider.ts: an authorization endpoint, a JWKS, ID tokens
 * signed with their own keys). Warden is http://localhost:<port>, another site than the
 * providers, so Apple's form_post back is a real cross-site POST that carries no SameSite=Lax
 * cookie. Then linked accounts on /account: the last way in cannot be unlinked, another can.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { engines } from "../helpers/engines.js";
import { startIdentityProvider } from "../helpers/identity-provider.js";
import { freePort } from "../helpers/process.js";
import { startWarden } from "../helpers/warden.js";
import { launchChromium, snapper, watchForErrors } from "./chromium.js";

const GOOGLE_CLIENT = "1234-web.apps.googleusercontent.com";
const APPLE_SERVICES_ID = "com.example.web";

for (const [index, { engine, skip }] of engines.entries()) {
  test(
    `${engine.name}: Chromium: sign in with Google (fragment) and Apple (cross-site form_post), then unlink on /account`,
    { skip },
    async () => {
      const now = () => new Date();
      const google = await startIdentityProvider({ audience: GOOGLE_CLIENT, now });
      const apple = await startIdentityProvider({ audience: APPLE_SERVICES_ID, now });
      const port = await freePort();
      const base = `http://localhost:${port}`;
      const w = await startWarden({
        engine,
        env: {
          PUBLIC_URL: base,
          GOOGLE_CLIENT_IDS: `ios-client.apps.googleusercontent.com,${GOOGLE_CLIENT}`,
          GOOGLE_WEB_CLIENT_ID: GOOGLE_CLIENT,
          GOOGLE_AUTHORIZE_URL: google.authorizeUrl,
          GOOGLE_JWKS_URL: google.jwksUrl,
          GOOGLE_ISSUERS: google.issuer,
          APPLE_CLIENT_IDS: `com.example.ios,${APPLE_SERVICES_ID}`,
          APPLE_WEB_CLIENT_ID: APPLE_SERVICES_ID,
          APPLE_AUTHORIZE_URL: apple.authorizeUrl,
          APPLE_JWKS_URL: apple.jwksUrl,
          APPLE_ISSUER: apple.issuer,
        },
      });
      await w.app.listen({ port, host: "127.0.0.1" });
      const browser = await launchChromium();
      // Screenshots once: the pages look the same on either engine.
      const snap = snapper(index === 0);
      const email = `ana.${engine.name}@gmail.com`;
      google.account = { sub: `g-${engine.name}`, email, email_verified: true, given_name: "Ana", family_name: "Pop" };
      apple.account = {
        sub: `a-${engine.name}`,
        email,
        email_verified: true,
        appleUser: { name: { firstName: "Ana", lastName: "Pop" }, email },
      };
      try {
        const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-GB" });
        const page = await context.newPage();
        const problems = watchForErrors(page);
        const signOut = async () => {
          await page.getByRole("link", { name: "Sign out" }).click();
          await page.getByRole("button", { name: "Sign out" }).click();
          await page.waitForURL(`${base}/login?notice=signed-out`);
        };

        // Google: the ID token comes back in the URL fragment; the page script posts it on.
        await page.goto(`${base}/login`);
        await snap(page, "login-providers");
        await page.getByRole("link", { name: "Continue with Google" }).click();
        await page.getByRole("heading", { name: "Fake identity provider" }).waitFor();
        const toGoogle = google.authorizeRequests.at(-1)!;
        assert.equal(toGoogle.get("client_id"), GOOGLE_CLIENT);
        assert.equal(toGoogle.get("response_type"), "id_token");
        assert.equal(toGoogle.get("redirect_uri"), `${base}/login/google/callback`);
        assert.match(toGoogle.get("nonce") ?? "", /^[A-Za-z0-9_-]{43}$/);
        assert.match(toGoogle.get("state") ?? "", /^[A-Za-z0-9_-]{43}$/);
        await page.getByRole("button", { name: "Continue" }).click();
        await page.waitForURL(`${base}/account`);
        await page.getByText(`Signed in as ${email}`).waitFor();
        assert.equal(await page.evaluate(() => location.hash), "", "the token left the address bar");
        const user = (await w.deps.users.findByEmail(email))!;
        assert.ok(user.emailConfirmedAt, "a confirmed account, made from Google's verified address");
        assert.equal(user.firstName, "Ana");

        // The only way in cannot be unlinked: said next to it.
        await page.getByRole("button", { name: `Unlink Google (${email})` }).click();
        await page.getByRole("alert").getByText("This is your only way to sign in.").waitFor();
        assert.equal(await page.locator("p.error", { hasText: "only way to sign in" }).count(), 1);
        // No password to confirm: the account page offers a first one (the session is fresh).
        assert.equal(await page.getByLabel("Current password").count(), 0);
        await page.getByLabel("New password").fill("a long walk by the sea");
        await page.getByRole("button", { name: "Set a password" }).click();
        await page.waitForURL(`${base}/account?notice=password-set`);
        assert.equal(await page.getByLabel("Current password").count(), 1, "now a change needs the current one");
        await signOut();

        // Apple: a cross-site form_post (no Lax cookie), posted on again from Warden's own origin.
        await page.getByRole("link", { name: "Continue with Apple" }).click();
        await page.getByRole("heading", { name: "Fake identity provider" }).waitFor();
        const toApple = apple.authorizeRequests.at(-1)!;
        assert.equal(toApple.get("client_id"), APPLE_SERVICES_ID);
        assert.equal(toApple.get("response_mode"), "form_post");
        assert.equal(toApple.get("response_type"), "code id_token");
        assert.match(toApple.get("nonce") ?? "", /^[0-9a-f]{64}$/, "Apple is given the nonce's SHA-256");
        await page.getByRole("button", { name: "Continue" }).click();
        await page.waitForURL(`${base}/account`);
        await page.getByText(`Signed in as ${email}`).waitFor();
        const identities = await w.deps.identities.listForUser(user.id);
        assert.deepEqual(
          identities.map((i) => i.provider).sort(),
          ["apple", "google"],
          "Apple linked to the same account",
        );
        await snap(page, "account-linked");

        // Other ways in remain (Apple, the password): Google can go (the Apple sign-in made the session fresh).
        await page.getByRole("button", { name: `Unlink Google (${email})` }).click();
        await page.waitForURL(`${base}/account?notice=identity-unlinked`);
        assert.equal(await page.getByRole("button", { name: /^Unlink Google/ }).count(), 0);
        await signOut();

        // Saying no at the provider: back on the sign-in page, told so.
        await page.getByRole("link", { name: "Continue with Apple" }).click();
        await page.getByRole("button", { name: "Cancel" }).click();
        await page.waitForURL(`${base}/login/federated`);
        await page.getByRole("alert").getByText("The sign-in with Apple was cancelled.").waitFor();

        assert.deepEqual(problems, [], "no console errors (a CSP violation would be one)");
        await context.close();
      } finally {
        await browser.close();
        await w.close();
        await google.close();
        await apple.close();
      }
    },
  );
}
