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

export interface FakeIdentityProvider {
  issuer: string;
  jwksUrl: string;
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

  const server = http.createServer((request, response) => {
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

  return {
    issuer,
    jwksUrl: `${base}/jwks`,
    get jwksFetches() {
      return fetches;
    },
    async mint(claims, mintOptions = {}) {
      const kid = mintOptions.kid ?? current;
      const signer = mintOptions.forgeWithUnknownKey ? forger : keys.get(kid)!;
      const iat = Math.floor(options.now().getTime() / 1000) + (mintOptions.issuedAt ?? 0);
      return new SignJWT({ iss: issuer, aud: options.audience, ...claims })
        .setProtectedHeader({ alg: "RS256", kid, typ: "JWT" })
        .setIssuedAt(iat)
        .setExpirationTime(iat + (mintOptions.expiresIn ?? 3600))
        .sign(signer.privateKey);
    },
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
