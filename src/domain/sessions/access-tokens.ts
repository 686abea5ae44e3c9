import { errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from "jose";
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

export class AccessTokens {
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
    return new SignJWT({
      roles,
      username: user.email,
      sid: session.id,
      auth_time: Math.floor(session.authTime.getTime() / 1000),
      // Sessions from before Warden recorded methods have none to tell.
      ...(session.amr.length > 0 ? { amr: session.amr } : {}),
    })
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid })
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.ttlSeconds)
      .setSubject(user.id)
      .setJti(this.random.uuid())
      .setIssuer(this.issuer)
      .sign(privateKey);
  }

  /**
   * The algorithm comes from Warden's own keys, never from the token: only RS256 with a `kid`
   * of the ring is tried, and embedded `jwk`/`jku` headers are never looked at.
   */
  async verify(token: string): Promise<AccessClaims> {
    if (token.length > MAX_TOKEN_LENGTH) throw new AuthError("JWT_INVALID");
    let limits: VerificationKey | undefined;
    try {
      const { payload } = await jwtVerify(
        token,
        (header) => {
          limits = typeof header.kid === "string" ? this.keys.verificationKey(header.kid) : undefined;
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
      // A retired key vouches only for tokens issued before it retired, for at most their TTL.
      if (
        limits?.maxIssuedAt !== undefined &&
        (payload.iat! > limits.maxIssuedAt || payload.exp! > limits.maxExpiresAt!)
      )
        throw new AuthError("JWT_INVALID");
      return toClaims(payload);
    } catch (error) {
      if (error instanceof AuthError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw new AuthError("JWT_EXPIRED", { cause: error });
      throw new AuthError("JWT_INVALID", { cause: error });
    }
  }
}

function toClaims(payload: JWTPayload): AccessClaims {
  const { sub, sid, username, roles, iat, exp, jti, iss, auth_time, amr } = payload as Record<string, unknown>;
  if (typeof sub !== "string" || typeof sid !== "string" || typeof username !== "string" || !Array.isArray(roles)) {
    throw new AuthError("JWT_INVALID");
  }
  return {
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
  };
}
