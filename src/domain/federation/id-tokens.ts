import crypto from "node:crypto";
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from "jose";
import type { ProviderName } from "./ports.js";

/** Where a provider's ID tokens come from and whom they must be for. */
export interface ProviderSettings {
  name: ProviderName;
  /** OAuth client IDs; the token's `aud` must be one of them. Empty: the provider is off. */
  clientIds: string[];
  issuers: string[];
  jwksUrl: string;
}

/** What Warden takes from a verified ID token. */
export interface VerifiedIdToken {
  provider: ProviderName;
  subject: string;
  /** Lower-cased and trimmed; null when the token carries none. */
  email: string | null;
  /** The provider says it verified the address (`email_verified`). */
  emailVerified: boolean;
  /**
   * The provider vouches that the holder owns the address now, enough to link the identity to an
   * existing account: Apple when verified; Google when verified and a Gmail address or a Google
   * Workspace one (`hd`), since Google does not keep checking other addresses.
   */
  vouchesForEmail: boolean;
  givenName: string | null;
  familyName: string | null;
}

/** The ID token failed a check; `reason` is for the log, never for the client. */
export class IdTokenRejected extends Error {
  override readonly name = "IdTokenRejected";
}

/** `exp`, `iat` and `nbf` are accepted this many seconds off, for clocks that drift. */
export const CLOCK_TOLERANCE_SECONDS = 60;
/** An ID token issued longer ago than this is refused whatever its `exp` says. */
const MAX_TOKEN_AGE_SECONDS = 86_400;

export interface VerifierOptions {
  /**
   * After the JWKS was fetched, an unknown `kid` triggers another fetch only once this long has
   * passed (jose's default is 30 s): a flood of made-up key ids cannot hammer the provider.
   */
  jwksCooldownMs?: number;
}

/**
 * Verifies one provider's ID tokens: RS256 signature with a key from the provider's JWKS
 * (cached by jose for 10 minutes, fetched again when a token names a key id it has not seen),
 * `iss`, `aud` among the client IDs, `exp`/`iat`/`nbf` with 60 s of leeway, and the nonce.
 */
export class IdTokenVerifier {
  private keySet: ReturnType<typeof createRemoteJWKSet> | undefined;

  constructor(
    readonly settings: ProviderSettings,
    private readonly options: VerifierOptions = {},
  ) {}

  /**
   * Made on the first token, not at start: it loads Node's fetch (undici), ~15 ms and 6 MB that a
   * server without Google or Apple sign-in never needs (issue 14: start and memory per worker).
   */
  private get jwks(): ReturnType<typeof createRemoteJWKSet> {
    return (this.keySet ??= createRemoteJWKSet(new URL(this.settings.jwksUrl), {
      cooldownDuration: this.options.jwksCooldownMs ?? 30_000,
      timeoutDuration: 5_000,
    }));
  }

  get isEnabled(): boolean {
    return this.settings.clientIds.length > 0;
  }

  /**
   * `nonce`, when the client sent one, must match the token: Apple puts sha256(nonce) in hex
   * there (the raw nonce stays on the device until now), Google the nonce itself.
   */
  async verify(token: string, now: Date, nonce?: string): Promise<VerifiedIdToken> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        algorithms: ["RS256"],
        issuer: this.settings.issuers,
        audience: this.settings.clientIds,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        maxTokenAge: MAX_TOKEN_AGE_SECONDS,
        currentDate: now,
        requiredClaims: ["sub", "exp", "iat"],
      }));
    } catch (error) {
      throw new IdTokenRejected(error instanceof Error ? error.message : String(error), { cause: error });
    }
    if (typeof payload.sub !== "string" || payload.sub.length === 0 || payload.sub.length > 255) {
      throw new IdTokenRejected("sub is not a usable string");
    }
    if (nonce !== undefined) {
      const expected = this.settings.name === "apple" ? crypto.createHash("sha256").update(nonce).digest("hex") : nonce;
      if (typeof payload.nonce !== "string" || !equalStrings(payload.nonce, expected)) {
        throw new IdTokenRejected("nonce does not match");
      }
    }
    const email = typeof payload.email === "string" && payload.email.trim() ? payload.email.trim().toLowerCase() : null;
    // Apple sends the flag as the string "true" in some tokens.
    const emailVerified = payload.email_verified === true || payload.email_verified === "true";
    const vouchesForEmail =
      email !== null &&
      emailVerified &&
      (this.settings.name === "apple" ||
        email.endsWith("@gmail.com") ||
        (typeof payload.hd === "string" && payload.hd.length > 0));
    return {
      provider: this.settings.name,
      subject: payload.sub,
      email,
      emailVerified,
      vouchesForEmail,
      givenName: typeof payload.given_name === "string" ? payload.given_name.slice(0, 100) : null,
      familyName: typeof payload.family_name === "string" ? payload.family_name.slice(0, 100) : null,
    };
  }
}

function equalStrings(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}
