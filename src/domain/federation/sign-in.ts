import type { DomainDeps, RequestContext } from "../context.js";
import { AuthError, type AuthErrorCode } from "../errors.js";
import { NO_PASSWORD } from "../factors/password/hasher.js";
import type { UserRecord } from "../accounts/ports.js";
import { recordEvent } from "../security/events.js";
import { completeLogin, type LoginResult } from "../sessions/login.js";
import { inTransaction } from "../unit-of-work.js";
import { IdTokenRejected, type VerifiedIdToken } from "./id-tokens.js";
import type { ProviderName } from "./ports.js";

export interface ProviderSignIn {
  /** The ID token (Google `credential`/`idToken`, Apple `identityToken`). */
  token: string;
  /** The raw nonce the client put (hashed, for Apple) into the authorization request. */
  nonce?: string;
  /** Apple sends the name only in the app, only the first time: used for a new account, never trusted for anything else. */
  fullName?: { givenName?: string | null; familyName?: string | null };
  /** `X-Platform: ios`: Apple's rules forbid creating an account from an iOS sign-in here. */
  platform?: string;
}

const INVALID: Record<ProviderName, AuthErrorCode> = { google: "GOOGLE_TOKEN_INVALID", apple: "APPLE_TOKEN_INVALID" };
export const PROVIDER_LABEL: Record<ProviderName, string> = { google: "Google", apple: "Apple" };

/**
 * POST /api/auth/google and /api/auth/apple. The account is found, in this order:
 * 1. by the identity (provider, sub) linked before;
 * 2. by email, only when the provider vouches for the address: a confirmed account gets the
 *    identity linked (and a notice mail); an unconfirmed one is taken over (its pending password
 *    removed: whoever registered it never proved the address);
 * 3. otherwise a new confirmed account without a password (ALLOW_SIGNUP), when the provider
 *    verified the address.
 * The email always comes from the verified token, never from the request body. The login then
 * continues as a password login does: the MFA challenge when the user has a second factor.
 */
export async function signInWithProvider(
  deps: DomainDeps,
  provider: ProviderName,
  input: ProviderSignIn,
  ctx: RequestContext,
): Promise<LoginResult> {
  const verifier = deps.idTokens[provider];
  if (!verifier.isEnabled) throw new AuthError("PROVIDER_DISABLED");
  let claims: VerifiedIdToken;
  try {
    // The network call (JWKS) happens here, before anything is written.
    claims = await verifier.verify(input.token, deps.clock.now(), input.nonce);
  } catch (error) {
    if (!(error instanceof IdTokenRejected)) throw error;
    // No account is known yet: the event is recorded without a user, for operators.
    const detail = { provider, reason: error.message.slice(0, 200) };
    await deps.events.record(
      { userId: null, type: "federated_login_failure", ip: ctx.ip, userAgent: ctx.userAgent, detail },
      deps.clock.now(),
    );
    throw new AuthError(INVALID[provider], { cause: error });
  }

  // Two attempts: a concurrent first sign-in of the same person may create the account between our read and write.
  for (let attempt = 0; attempt < 2; attempt++) {
    // The identity, the account it may create or take over, and their event stand or fall
    // together; the notice of a new link is mailed once they stand.
    const resolved = await inTransaction(deps, (tx) => resolveAccount(tx, claims, input, ctx));
    if (resolved.refusal) throw new AuthError(resolved.refusal);
    if (!resolved.user) continue;
    if (resolved.linked) mailLinkNotice(deps, resolved.user, claims.provider, ctx);
    return completeFederatedLogin(deps, resolved.user, claims, ctx);
  }
  throw new AuthError("EMAIL_TAKEN");
}

/** What resolution found: the account (null when a race was lost: try again), or a refusal to throw after commit. */
type Resolution =
  { user: UserRecord | null; linked?: boolean; refusal?: undefined } | { user?: undefined; refusal: AuthErrorCode };

/**
 * The account the token belongs to, linking or creating as the rules say. Runs in one unit of
 * work: every store below is `tx`'s, and a lost race (the identity or the address taken
 * meanwhile) writes nothing and answers null.
 */
async function resolveAccount(
  tx: DomainDeps,
  claims: VerifiedIdToken,
  input: ProviderSignIn,
  ctx: RequestContext,
): Promise<Resolution> {
  const now = tx.clock.now();
  const identity = await tx.identities.findBySubject(claims.provider, claims.subject);
  if (identity) {
    const user = await tx.users.findById(identity.userId);
    if (user && !user.deletedAt) {
      await tx.identities.touch(identity.id, claims.email, now);
      return { user };
    }
    // An identity of a deleted account (deleted before deletion took its identities along, or
    // deleted a moment ago): it names nobody here any more, and the person starts over.
    await tx.identities.deleteAllForUser(identity.userId);
  }

  if (!claims.email) throw new AuthError("PROVIDER_EMAIL_MISSING");
  const local = await tx.users.findByEmail(claims.email);
  const link = { provider: claims.provider, subject: claims.subject, email: claims.email };

  if (local) {
    // Linking by an address the provider does not vouch for would hand the account to whoever
    // typed that address into their Google account: refuse, and never touch the account. The
    // refusal is recorded, so it is returned for the transaction to commit, and thrown after.
    if (!claims.vouchesForEmail) {
      await recordEvent(tx, local, "identity_link_refused", ctx, { provider: claims.provider, reason: "unverified" });
      return { refusal: "EMAIL_TAKEN" };
    }
    if (local.deactivatedAt) throw new AuthError("ACCOUNT_INACTIVE");
    if (local.emailConfirmedAt) {
      if (!(await tx.identities.link({ ...link, userId: local.id }, now))) return { user: null };
      await recordEvent(tx, local, "identity_linked", ctx, { provider: claims.provider, via: "verified_email" });
      return { user: local, linked: true };
    }
    if (!(await tx.identities.takeOverUnconfirmed(local.id, NO_PASSWORD, link, now))) return { user: null };
    await recordEvent(tx, local, "account_taken_over", ctx, { provider: claims.provider });
    return { user: await tx.users.findById(local.id) };
  }

  if (!claims.emailVerified) throw new AuthError("PROVIDER_EMAIL_UNVERIFIED");
  if (!tx.config.ALLOW_SIGNUP || input.platform?.toLowerCase() === "ios") {
    throw new AuthError("REGISTRATION_REQUIRED");
  }
  const text = (value: string | null | undefined) => value?.trim().slice(0, 100) || null;
  const created = await tx.identities.createUserWithIdentity(
    {
      email: claims.email,
      passwordHash: NO_PASSWORD,
      roles: ["ROLE_USER"],
      emailConfirmedAt: now,
      deactivatedAt: null,
      firstName: text(input.fullName?.givenName) ?? claims.givenName,
      lastName: text(input.fullName?.familyName) ?? claims.familyName,
    },
    link,
    now,
  );
  if (!created) return { user: null };
  await recordEvent(tx, created, "user_registered", ctx, { provider: claims.provider });
  return { user: created };
}

/** Tells the owner that a provider can now sign in to their account (after the link committed). */
function mailLinkNotice(deps: DomainDeps, user: UserRecord, provider: ProviderName, ctx: RequestContext): void {
  deps.mailer.enqueue({
    kind: "identity_linked",
    to: user.email,
    userId: user.id,
    locale: user.locale,
    firstName: user.firstName,
    occurredAt: deps.clock.now(),
    ip: ctx.ip,
    provider: PROVIDER_LABEL[provider],
  });
}

async function completeFederatedLogin(
  deps: DomainDeps,
  user: UserRecord,
  claims: VerifiedIdToken,
  ctx: RequestContext,
): Promise<LoginResult> {
  if (user.deactivatedAt || user.deletedAt) {
    await recordEvent(deps, user, "login_failure", ctx, { reason: "account_inactive", provider: claims.provider });
    throw new AuthError("ACCOUNT_INACTIVE");
  }
  return completeLogin(deps, user, ctx, {
    amr: ["fed"],
    detail: { provider: claims.provider },
    refusal: INVALID[claims.provider],
  });
}
