import http from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from "jose";

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface MintOptions {
  /** Sign with this key id (must exist: published or held back); default the current key. */
  kid?: string;
  /** Sign with a key that was never published under any kid (a forged signature under a known kid). */
  forgeWithUnknownKey?: boolean;
  /** Seconds from the IdP's "now" (the clock passed at start). */
  issuedAt?: number;
  expiresIn?: number;
}

/** Who signs in at the authorization endpoint, and what the ID token says about them. */
export interface FakeAccount {
  sub: string;
  email?: string;
  email_verified?: boolean;
  given_name?: string;
  family_name?: string;
  /** Apple's form_post `user` field, sent on an account's first sign-in only. */
  appleUser?: { name: { firstName: string; lastName: string }; email: string };
}

export interface FakeIdentityProvider {
  issuer: string;
  jwksUrl: string;
  /**
   * An OpenID Connect authorization endpoint for browsers, as Google's and Apple's: a page with a
   * "Continue" button (the person consents), then the ID token back to `redirect_uri` in the URL
   * fragment (`response_type=id_token`) or as an auto-submitted cross-site form post
   * (`response_mode=form_post`), with `state` and the request's `nonce` in the token.
   * `?deny` on the consent answers `error=access_denied` instead.
   */
  authorizeUrl: string;
  /** The account the next consent signs in (default: a verified Gmail address). */
  account: FakeAccount;
  /** The query of every authorization request, in order. */
  readonly authorizeRequests: URLSearchParams[];
  /** How many times the JWKS was fetched. */
  readonly jwksFetches: number;
  /** A token with standard claims (iss, aud, sub, iat, exp) plus `claims`. */
  mint(claims: JWTPayload & { aud?: string | string[] }, options?: MintOptions): Promise<string>;
  /** Creates a key that signs but is not published yet (a rotation in progress). Returns its kid. */
  prepareKey(): Promise<string>;
  /** Publishes a prepared key in the JWKS, next to the current ones, and makes it the current signer. */
  publish(kid: string): void;
  close(): Promise<void>;
}

/**
 * A stand-in for Google or Apple on 127.0.0.1: its own RSA keys, a JWKS URL served by
 * node:http, ID tokens minted with jose. Warden fetches the JWKS over a real socket exactly as
 * it fetches Google's. `now` gives the token times (the test's fixed clock).
 */
export async function startIdentityProvider(options: {
  issuer?: string;
  audience: string;
  now: () => Date;
}): Promise<FakeIdentityProvider> {
  const keys = new Map<string, SigningKey>();
  const published = new Set<string>();
  let current = "";
  let fetches = 0;
  let counter = 0;
  const newKey = async (): Promise<SigningKey> => {
    const kid = `idp-key-${++counter}`;
    const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
    const key = { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" } };
    keys.set(kid, key);
    return key;
  };
  const first = await newKey();
  published.add(first.kid);
  current = first.kid;
  // A key never published: tokens it signs carry a published kid, so only the signature is wrong.
  const forger = await newKey();

  const authorizeRequests: URLSearchParams[] = [];
  const idp = { account: { sub: "fake-sub-1", email: "ana@gmail.com", email_verified: true } as FakeAccount };

  const page = (title: string, body: string) =>
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
  const escape = (value: string) => value.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const hiddenFields = (fields: Record<string, string>) =>
    Object.entries(fields)
      .map(([name, value]) => `<input type="hidden" name="${escape(name)}" value="${escape(value)}">`)
      .join("");

  /** The consent's answer: the token minted for the request, returned the way the request asked. */
  async function answer(params: URLSearchParams, denied: boolean, response: http.ServerResponse) {
    const redirectUri = params.get("redirect_uri") ?? "";
    const { appleUser, ...claims } = idp.account;
    const fields: Record<string, string> = denied
      ? { error: "access_denied", state: params.get("state") ?? "" }
      : {
          id_token: await mint({
            ...claims,
            aud: params.get("client_id") ?? "",
            nonce: params.get("nonce") ?? undefined,
          }),
          state: params.get("state") ?? "",
        };
    if (params.get("response_mode") === "form_post") {
      if (!denied) fields.code = "fake-authorization-code";
      if (!denied && appleUser) fields.user = JSON.stringify(appleUser);
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      response.end(
        page(
          "Returning",
          `<form method="post" action="${escape(redirectUri)}">${hiddenFields(fields)}<button>Back to the app</button></form><script>document.forms[0].submit()</script>`,
        ),
      );
      return;
    }
    response.writeHead(303, { location: `${redirectUri}#${new URLSearchParams(fields).toString()}` }).end();
  }

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://idp");
    if (url.pathname === "/authorize" && request.method === "GET") {
      authorizeRequests.push(url.searchParams);
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      response.end(
        page(
          "Fake identity provider",
          `<p>Sign in to ${escape(url.searchParams.get("client_id") ?? "")} as ${escape(idp.account.email ?? idp.account.sub)}?</p>` +
            `<form method="post" action="/authorize/consent">${hiddenFields(Object.fromEntries(url.searchParams))}<button>Continue</button><button name="deny" value="1">Cancel</button></form>`,
        ),
      );
      return;
    }
    if (url.pathname === "/authorize/consent" && request.method === "POST") {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        const params = new URLSearchParams(body);
        answer(params, params.has("deny"), response).catch((error) => response.writeHead(500).end(String(error)));
      });
      return;
    }
    if (request.url === "/jwks") {
      fetches++;
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ keys: [...published].map((kid) => keys.get(kid)!.publicJwk) }));
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  const issuer = options.issuer ?? base;

  async function mint(claims: JWTPayload & { aud?: string | string[] }, mintOptions: MintOptions = {}) {
    const kid = mintOptions.kid ?? current;
    const signer = mintOptions.forgeWithUnknownKey ? forger : keys.get(kid)!;
    const iat = Math.floor(options.now().getTime() / 1000) + (mintOptions.issuedAt ?? 0);
    return new SignJWT({ iss: issuer, aud: options.audience, ...claims })
      .setProtectedHeader({ alg: "RS256", kid, typ: "JWT" })
      .setIssuedAt(iat)
      .setExpirationTime(iat + (mintOptions.expiresIn ?? 3600))
      .sign(signer.privateKey);
  }

  return {
    issuer,
    jwksUrl: `${base}/jwks`,
    authorizeUrl: `${base}/authorize`,
    get account() {
      return idp.account;
    },
    set account(account: FakeAccount) {
      idp.account = account;
    },
    authorizeRequests,
    get jwksFetches() {
      return fetches;
    },
    mint,
    async prepareKey() {
      return (await newKey()).kid;
    },
    publish(kid) {
      published.add(kid);
      current = kid;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
