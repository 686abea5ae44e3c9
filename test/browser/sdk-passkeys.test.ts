/**
 * The SDK's passkey, step-up and Google/Apple calls in real Chromium, from an app on a second
 * origin (CORS_ORIGINS) with Chromium's virtual authenticator. Both origins are
 * http://localhost:<port> (WebAuthn takes no IP address as RP ID): the RP ID is Warden's
 * configured one, and the app's origin is allowed because CORS_ORIGINS lists it.
 */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { test } from "node:test";
import { sqliteEngine } from "../helpers/engines.js";
import { startIdentityProvider } from "../helpers/identity-provider.js";
import { PASSWORD } from "../helpers/login.js";
import { freePort } from "../helpers/process.js";
import { startWarden } from "../helpers/warden.js";
import { inApp, startAppOrigin } from "./app-origin.js";
import { addVirtualAuthenticator, launchChromium, OffsetClock, watchForErrors } from "./chromium.js";

test("SDK: register a passkey, sign in with it, answer the MFA step and a step-up with it, delete it; Google and Apple hand-off", async () => {
  const app = await startAppOrigin("localhost");
  const clock = new OffsetClock();
  const now = () => clock.now();
  const google = await startIdentityProvider({ audience: "web-client", now });
  const apple = await startIdentityProvider({ audience: "com.example.web", now });
  const port = await freePort();
  const base = `http://localhost:${port}`;
  const w = await startWarden({
    engine: sqliteEngine,
    clock,
    env: {
      PUBLIC_URL: base,
      CORS_ORIGINS: app.origin,
      GOOGLE_CLIENT_IDS: "web-client",
      GOOGLE_JWKS_URL: google.jwksUrl,
      GOOGLE_ISSUERS: google.issuer,
      APPLE_CLIENT_IDS: "com.example.web",
      APPLE_JWKS_URL: apple.jwksUrl,
      APPLE_ISSUER: apple.issuer,
    },
  });
  await w.app.listen({ port, host: "127.0.0.1" });
  const browser = await launchChromium();
  try {
    const email = "sdk.passkey@example.com";
    await w.createUser(email, PASSWORD);
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = watchForErrors(page);
    // The page itself uses eval-free code; `new Function` here is the test's own harness.
    await page.goto(`${app.origin}/?${new URLSearchParams({ warden: base })}`);
    await page.locator("body[data-ready=yes]").waitFor({ state: "attached" });
    const cdp = await context.newCDPSession(page);
    const authenticatorId = await addVirtualAuthenticator(cdp);

    // Register while the password sign-in is fresh.
    await inApp(page, "await warden.login(arg.email, arg.password)", { email, password: PASSWORD });
    const added = await inApp<{ id: string; name: string; lastUsedAt: null }>(
      page,
      `return warden.registerPasskey({ name: "Phone" })`,
    );
    assert.equal(added.name, "Phone");
    assert.equal(added.lastUsedAt, null);
    assert.equal((await inApp<unknown[]>(page, "return warden.listPasskeys()")).length, 1);
    // Renamed across origins (a PATCH through CORS); not sensitive.
    const renamed = await inApp<{ id: string; name: string }>(
      page,
      'return warden.renamePasskey(arg, "Work phone")',
      added.id,
    );
    assert.deepEqual([renamed.id, renamed.name], [added.id, "Work phone"]);

    // Passwordless sign-in; a failed fingerprint is a PasskeyCancelledError, not a server call.
    await inApp(page, "await warden.logout()");
    await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: false });
    const cancelled = await inApp<{ error: { name: string } }>(page, "return warden.loginWithPasskey()");
    assert.equal(cancelled.error.name, "PasskeyCancelledError");
    await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: true });
    await inApp(page, "await warden.loginWithPasskey()");
    assert.equal((await inApp<{ email: string }>(page, "return warden.getUser()")).email, email);

    // The passkey as the second step after the password.
    await inApp(page, "await warden.logout()");
    const challenge = await inApp<{ mfaRequired: boolean; mfaToken: string; methods: string[] }>(
      page,
      "return warden.login(arg.email, arg.password)",
      { email, password: PASSWORD },
    );
    assert.equal(challenge.mfaRequired, true);
    assert.ok(challenge.methods.includes("passkey"));
    await inApp(page, "await warden.verifyMfaWithPasskey(arg)", challenge.mfaToken);
    assert.equal((await inApp<{ email: string }>(page, "return warden.getUser()")).email, email);

    // Later, deleting it needs a step-up; the passkey answers it.
    clock.offsetMs = (w.deps.config.REAUTH_MAX_AGE + 1) * 1000;
    const refused = await inApp<{ error: { status: number; stepUp: boolean } }>(
      page,
      "return warden.deletePasskey(arg)",
      added.id,
    );
    assert.deepEqual(refused.error.status, 403);
    assert.equal(refused.error.stepUp, true);
    const deleted = await inApp<unknown[]>(
      page,
      `const step = await warden.startStepUp();
       if (!step.mfaRequired || !step.methods.includes("passkey")) throw new Error(JSON.stringify(step));
       const verificationToken = await warden.verifyStepUpWithPasskey(step.challengeToken);
       await warden.deletePasskey(arg, { verificationToken });
       return warden.listPasskeys();`,
      added.id,
    );
    assert.deepEqual(deleted, []);
    clock.offsetMs = 0;

    // Google: the app got an ID token from Google's own library; the SDK hands it over.
    await inApp(page, "await warden.logout()");
    google.account = { sub: "g-sdk", email: "gia@gmail.com", email_verified: true };
    const googleToken = await google.mint({
      sub: "g-sdk",
      email: "gia@gmail.com",
      email_verified: true,
      aud: "web-client",
    });
    const viaGoogle = await inApp<{ mfaRequired: boolean }>(page, "return warden.signInWithGoogle(arg)", googleToken);
    assert.equal(viaGoogle.mfaRequired, false);
    const identities = await inApp<Array<{ id: string; provider: string }>>(page, "return warden.listIdentities()");
    assert.deepEqual(
      identities.map((i) => i.provider),
      ["google"],
    );
    const lastWay = await inApp<{ error: { status: number; message: string } }>(
      page,
      "return warden.unlinkIdentity(arg)",
      identities[0]!.id,
    );
    assert.deepEqual(lastWay.error, {
      name: "WardenError",
      status: 409,
      message: "This is your only way to sign in.",
      stepUp: false,
    });

    // Apple: the raw nonce goes to Warden, its SHA-256 went to Apple (and so into the token).
    await inApp(page, "await warden.logout()");
    const nonce = crypto.randomBytes(16).toString("hex");
    const appleToken = await apple.mint({
      sub: "a-sdk",
      email: "gia@gmail.com",
      email_verified: true,
      aud: "com.example.web",
      nonce: crypto.createHash("sha256").update(nonce).digest("hex"),
    });
    await inApp(page, "await warden.signInWithApple(arg.token, { nonce: arg.nonce })", { token: appleToken, nonce });
    const both = await inApp<Array<{ provider: string }>>(page, "return warden.listIdentities()");
    assert.deepEqual(both.map((i) => i.provider).sort(), ["apple", "google"]);

    assert.deepEqual(problems, []);
    await context.close();
  } finally {
    await browser.close();
    await w.close();
    await app.close();
    await google.close();
    await apple.close();
  }
});
