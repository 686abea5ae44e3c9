/** A browser for the hosted pages through inject(): a cookie jar and form posts with the page's Origin. */
import assert from "node:assert/strict";
import type { Clock } from "../../src/domain/lib/ports.js";
import { authenticatorCode } from "../mfa/mfa-helpers.js";
import { PASSWORD } from "./login.js";
import type { Warden } from "./warden.js";

/** The PUBLIC_URL origin startWarden gives the pages. */
export const OWN = "http://warden.test";

/** A form as a browser sends it: a repeated field (checkboxes of one name) is a list. */
export type FormFields = Record<string, string | string[]>;

export function encodeForm(form: FormFields): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(form))
    for (const one of Array.isArray(value) ? value : [value]) params.append(name, one);
  return params.toString();
}

/** A browser's cookie jar, enough for inject(): name -> value, cleared by Max-Age=0. */
export class PageBrowser {
  cookies = new Map<string, string>();
  constructor(private readonly w: Warden) {}

  private remember(headers: Record<string, unknown>) {
    const raw = headers["set-cookie"];
    for (const line of raw === undefined ? [] : Array.isArray(raw) ? raw : [raw as string]) {
      const [pair, ...attributes] = String(line).split(";");
      const name = pair!.slice(0, pair!.indexOf("="));
      const value = pair!.slice(pair!.indexOf("=") + 1);
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || /expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  private cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  async get(url: string, headers: Record<string, string> = {}) {
    const r = await this.w.app.inject({ method: "GET", url, headers: { cookie: this.cookieHeader(), ...headers } });
    this.remember(r.headers);
    return r;
  }

  /** Posts a form as a browser does: urlencoded, the page's Origin, its cookies. */
  async post(url: string, form: FormFields, headers: Record<string, string> = { origin: OWN }) {
    const r = await this.w.app.inject({
      method: "POST",
      url,
      payload: encodeForm(form),
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: this.cookieHeader(), ...headers },
    });
    this.remember(r.headers);
    return r;
  }

  /** The CSRF token of the form on `url`, as the page rendered it. */
  async csrfOf(url: string): Promise<string> {
    const page = await this.get(url);
    const match = /name="_csrf" value="([^"]+)"/.exec(page.body);
    assert.ok(match, `no CSRF field on ${url}: ${page.statusCode}`);
    return match[1]!;
  }
}

/** The value of a hidden field on a page. */
export const hidden = (html: string, name: string) =>
  new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1] ?? "";

/** Signs in on the pages with the password and then the authenticator app's code (of `clock`'s time). */
export async function signInWithCode(w: Warden, clock: Clock, email: string, secret: string) {
  const browser = new PageBrowser(w);
  const step = await browser.post("/login", { _csrf: await browser.csrfOf("/login"), email, password: PASSWORD });
  const mfa = await browser.post("/login/mfa", {
    _csrf: hidden(step.body, "_csrf"),
    mfa_token: hidden(step.body, "mfa_token"),
    methods: hidden(step.body, "methods"),
    redirect_to: "",
    type: "totp",
    code: authenticatorCode(secret, clock),
  });
  assert.equal(mfa.statusCode, 303, mfa.body);
  return browser;
}
