import { sign, type KeyObject } from "node:crypto";
import { errors as joseErrors, jwtVerify, type JWTPayload } from "jose";
import { AuthError } from "../errors.js";
import type { Clock, Random } from "../lib/ports.js";
import type { SigningKeys, VerificationKey } from "./signing-keys.js";

export interface AccessClaims {
  sub: string;
  sid: string;
  username: string;
  roles: string[];
  iat: number;
  exp: number;
  jti: string;
  iss: string;
  /** When the session's user last authenticated, in seconds (absent from tokens minted before Warden recorded it). */
  auth_time?: number;
  /** RFC 8176 method references of that authentication. */
  amr?: string[];
}

/** What an access token says about its session. */
export interface SessionClaims {
  id: string;
  authTime: Date;
  amr: string[];
}

/** Longer than any token Warden issues by far; a larger header is an attack, not a token. */
const MAX_TOKEN_LENGTH = 8192;

/**
 * Tokens whose signature this process has checked, kept as Envoy's jwt_authn keeps them: a client
 * sends the same access token with every request for its whole TTL, and the RSA check was a
 * fifth of the CPU of `GET /api/v1/me`. Only verified tokens go in (a forged token costs a full
 * check every time); the bound keeps the memory under about 3 MB.
 */
const VERIFIED_TOKENS_KEPT = 2048;

interface VerifiedToken {
  claims: AccessClaims;
  kid: string;
  /** The key object that checked the signature: a reload of the ring makes new ones, and the token is checked again. */
  publicKey: KeyObject;
}

const base64url = (json: object) => Buffer.from(JSON.stringify(json)).toString("base64url");

/**
 * A JWS in compact serialization (RFC 7515 7.1), signed RS256 (RSASSA-PKCS1-v1_5 with SHA-256,
 * RFC 7518 3.3) by OpenSSL through node:crypto, on libuv's pool. Not jose's SignJWT: its
 * WebCrypto path cost refresh 7-11% of its rate in three side-by-side pairs out of four
 * (docs/bench.md, "Signing access tokens"). Only the encoding is Warden's; jose checks every
 * token Warden verifies, and the tests check issued tokens with jose and the JWKS. The bench's
 * raw-sign reference (bench/physical.ts) calls it too.
 */
export function signRs256(
  header: { alg: "RS256"; typ: "JWT"; kid: string },
  claims: object,
  key: KeyObject,
): Promise<string> {
  const input = `${base64url(header)}.${base64url(claims)}`;
  return new Promise((resolve, reject) =>
    sign("sha256", Buffer.from(input), key, (error, signature) =>
      error ? reject(error) : resolve(`${input}.${signature.toString("base64url")}`),
    ),
  );
}

export class AccessTokens {
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(
    private readonly keys: SigningKeys,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly issuer: string,
    private readonly ttlSeconds: number,
  ) {}

  async issue(user: { id: string; email: string; roles: string[] }, session: SessionClaims): Promise<string> {
    const { kid, privateKey } = this.keys.signer();
    const iat = Math.floor(this.clock.now().getTime() / 1000);
    // Storno's resource servers read `username` and `roles`; `roles` always holds ROLE_USER.
    const roles = user.roles.includes("ROLE_USER") ? user.roles : ["ROLE_USER", ...user.roles];
    const claims: AccessClaims = {
      roles,
      username: user.email,
      sid: session.id,
      auth_time: Math.floor(session.authTime.getTime() / 1000),
      // Sessions from before Warden recorded methods have none to tell.
      ...(session.amr.length > 0 ? { amr: session.amr } : {}),
      iat,
      exp: iat + this.ttlSeconds,
      sub: user.id,
      jti: this.random.uuid(),
      iss: this.issuer,
    };
    return signRs256({ alg: "RS256", typ: "JWT", kid }, claims, privateKey);
  }

  /**
   * The algorithm comes from Warden's own keys, never from the token: only RS256 with a `kid`
   * of the ring is tried, and embedded `jwk`/`jku` headers are never looked at. A token seen
   * before skips the signature check, never the rest: its key must still be the one of the ring
   * that checked it (a revoked key is gone from the ring), within its retirement limits, and the
   * token unexpired.
   */
  async verify(token: string): Promise<AccessClaims> {
    if (token.length > MAX_TOKEN_LENGTH) throw new AuthError("JWT_INVALID");
    const known = this.verified.get(token);
    if (known) {
      const limits = this.keys.verificationKey(known.kid);
      if (limits?.publicKey === known.publicKey) return this.checkedAgainst(limits, known.claims);
      this.verified.delete(token);
    }
    let kid = "";
    let limits: VerificationKey | undefined;
    let claims: AccessClaims;
    try {
      const { payload } = await jwtVerify(
        token,
        (header) => {
          kid = typeof header.kid === "string" ? header.kid : "";
          limits = this.keys.verificationKey(kid);
          if (!limits) throw new AuthError("JWT_INVALID");
          return limits.publicKey;
        },
        {
          algorithms: ["RS256"],
          issuer: this.issuer,
          typ: "JWT",
          currentDate: this.clock.now(),
          requiredClaims: ["exp", "iat", "sub", "sid"],
        },
      );
      claims = toClaims(payload);
    } catch (error) {
      if (error instanceof AuthError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw new AuthError("JWT_EXPIRED", { cause: error });
      throw new AuthError("JWT_INVALID", { cause: error });
    }
    this.checkedAgainst(limits!, claims);
    if (this.verified.size >= VERIFIED_TOKENS_KEPT) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { claims, kid, publicKey: limits!.publicKey });
    return claims;
  }

  /** The checks that depend on time and on the key's state, made on every request. */
  private checkedAgainst(limits: VerificationKey, claims: AccessClaims): AccessClaims {
    // jose's rule, without tolerance: expired once `exp` is reached.
    if (claims.exp <= Math.floor(this.clock.now().getTime() / 1000)) throw new AuthError("JWT_EXPIRED");
    // A retired key vouches only for tokens issued before it retired, for at most their TTL.
    if (limits.maxIssuedAt !== undefined && (claims.iat > limits.maxIssuedAt || claims.exp > limits.maxExpiresAt!))
      throw new AuthError("JWT_INVALID");
    return claims;
  }
}

function toClaims(payload: JWTPayload): AccessClaims {
  const { sub, sid, username, roles, iat, exp, jti, iss, auth_time, amr } = payload as Record<string, unknown>;
  if (typeof sub !== "string" || typeof sid !== "string" || typeof username !== "string" || !Array.isArray(roles)) {
    throw new AuthError("JWT_INVALID");
  }
  return Object.freeze({
    sub,
    sid,
    username,
    roles: roles as string[],
    iat: iat as number,
    exp: exp as number,
    jti: jti as string,
    iss: iss as string,
    ...(typeof auth_time === "number" ? { auth_time } : {}),
    ...(Array.isArray(amr) ? { amr: amr as string[] } : {}),
  });
}
