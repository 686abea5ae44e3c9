import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type CDPSession, type Page } from "playwright-core";
import type { Clock } from "../../src/domain/lib/ports.js";

/** Types the email and password into the hosted sign-in form and presses Enter, as a user would. */
export async function signInOnPages(page: Page, base: string, email: string, password: string): Promise<void> {
  await page.goto(`${base}/login?prompt=login`);
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByLabel("Password").press("Enter");
}

/** Debian's Chromium, as CI installs it (.ci/run); test/run.ts checks it is there. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update"],
  });

/**
 * Where screenshots go: docs/screenshots when WARDEN_SCREENSHOTS=1 (to refresh the committed
 * ones), else a scratch folder, so a test run never rewrites the repository.
 */
export function screenshotDir(): string {
  if (process.env.WARDEN_SCREENSHOTS === "1") return path.resolve(import.meta.dirname, "../../docs/screenshots");
  return fs.mkdtempSync(path.join(os.tmpdir(), "warden-shots-"));
}

/** `snap(page, name)`: screenshots into screenshotDir() when `enabled` (once per test file, not per engine), else nothing. */
export function snapper(enabled: boolean): (page: Page, name: string) => Promise<void> {
  const dir = enabled ? screenshotDir() : null;
  return async (page, name) => {
    if (dir) await shoot(page, dir, name);
  };
}

export const VIEWPORTS = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } as const;

/** The page as it is now, at desktop and phone size: `<name>-desktop.png`, `<name>-phone.png`. */
export async function shoot(page: Page, dir: string, name: string): Promise<void> {
  const original = page.viewportSize();
  for (const [kind, size] of Object.entries(VIEWPORTS)) {
    await page.setViewportSize(size);
    await page.screenshot({ path: path.join(dir, `${name}-${kind}.png`), fullPage: true });
  }
  if (original) await page.setViewportSize(original);
}

/** Console errors (a CSP violation is one) and uncaught exceptions of a page, collected for a final assertion. */
export function watchForErrors(page: Page): string[] {
  const problems: string[] = [];
  page.on("console", (message) => {
    // A page answered with 4xx (a form with errors) is logged too; that is the page working.
    if (
      message.type() === "error" &&
      !/^Failed to load resource: the server responded with a status of 4\d\d/.test(message.text())
    )
      problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
  return problems;
}

/**
 * Chromium's virtual authenticator (CDP WebAuthn domain) for this page: a platform authenticator
 * (CTAP2, internal transport) that holds discoverable credentials and verifies the user, as a
 * laptop's fingerprint reader does, answering without a prompt. Returns its id.
 */
export async function addVirtualAuthenticator(cdp: CDPSession): Promise<string> {
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return authenticatorId;
}

/** The real time, moved forward on demand (a session that signed in "ten minutes ago"). */
export class OffsetClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}
