/**
 * Warden's browser client: sign-in flows, an authenticated `fetch`, and an access token that
 * stays fresh across every tab of the app without logging any of them out.
 *
 * - The refresh token lives only in Warden's HttpOnly cookie (every call to Warden is
 *   `credentials: "include"`); the access token lives only in this object's memory.
 * - One tab refreshes at a time (Web Locks, with a timeout so a tab that dies holding the lock
 *   cannot block the others; single-flight inside the tab where Web Locks is missing), and hands
 *   the new access token to the other tabs over BroadcastChannel. A tab that had to wait for the
 *   lock asks the other tabs for their token before spending the rotated cookie again. Warden's
 *   REFRESH_REUSE_GRACE window covers what slips through.
 *
 * No runtime dependencies; see docs/sdk.md.
 */
import {
  createPasskeyCredential,
  getPasskeyCredential,
  type CreationOptionsJSON,
  type RequestOptionsJSON,
} from "./webauthn.js";

export {
  base64urlToBytes,
  bytesToBase64url,
  createPasskeyCredential,
  getPasskeyCredential,
  isPasskeySupported,
  PasskeyCancelledError,
  type CreationOptionsJSON,
  type CredentialJSON,
  type RequestOptionsJSON,
} from "./webauthn.js";

export interface WardenClientOptions {
  /** Warden's base URL, e.g. `https://auth.example.com` (its CORS_ORIGINS must list the app's origin). */
  baseUrl: string;
  /** Refresh shortly before the access token's `exp` (default true). Without it, a 401 still triggers one refresh. */
  autoRefresh?: boolean;
  /** How long a tab waits for another tab's refresh before refreshing on its own (default 10 000 ms). */
  lockTimeoutMs?: number;
  /** How long a refresh request may take before it is abandoned (default 15 000 ms). */
  refreshTimeoutMs?: number;
  /** How long to wait for another tab to answer "who has a fresh token?" (default 300 ms). */
  askTimeoutMs?: number;
  /** Name of the lock, the channel and the storage key; apps with two Wardens on one origin set it apart. */
  name?: string;
}

export interface TokenPair {
  mfaRequired: false;
  accessToken: string;
}

export interface MfaChallenge {
  mfaRequired: true;
  mfaToken: string;
  /** What the user may answer with: `totp`, `backup_code`, `passkey`, `email_otp`. */
  methods: MfaMethod[];
}

export type MfaMethod = "totp" | "backup_code" | "passkey" | "email_otp";
/** The methods answered with a typed code (a passkey answers with `verifyMfaWithPasskey`). */
export type CodeMethod = Exclude<MfaMethod, "passkey">;

/** A passkey of the signed-in user (`GET /api/v1/me/passkeys`). */
export interface PasskeyInfo {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

/** A Google or Apple account linked to the signed-in user (`GET /api/v1/me/identities`). */
export interface LinkedIdentity {
  id: string;
  provider: "google" | "apple";
  email: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

/** An API key of the signed-in user (`GET /api/v1/api-tokens`); the key itself is never listed. */
export interface ApiKeyInfo {
  id: string;
  name: string;
  /** The key's first 12 characters (`af_` + 9 hex), to recognise it. */
  tokenPrefix: string;
  scopes: string[];
  createdAt: string;
  expiresAt: string | null;
  /** Minute resolution. */
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** `createApiKey`'s answer: the key (`af_` + 64 hex) is in this answer only. */
export interface NewApiKey extends ApiKeyInfo {
  token: string;
}

/** A scope the signed-in user may grant (`GET /api/v1/api-tokens/scopes`). */
export interface ApiKeyScope {
  value: string;
  label: string;
  category: string;
}

/** `startStepUp()`: nothing to prove (no second factor: a fresh sign-in serves), or a challenge to answer. */
export type StepUpChallenge =
  { mfaRequired: false } | { mfaRequired: true; challengeToken: string; methods: MfaMethod[] };

/** For a sensitive operation: the token from `verifyStepUp` / `verifyStepUpWithPasskey`. */
export interface SensitiveOptions {
  verificationToken?: string;
}

export type LoginResult = TokenPair | MfaChallenge;

export type AuthEvent = "SIGNED_IN" | "TOKEN_REFRESHED" | "SIGNED_OUT";

export interface Session {
  accessToken: string;
  /** The access token's claims (`sub`, `sid`, `exp`, ...), decoded, not verified (the server verifies). */
  claims: AccessClaims;
}

export interface AccessClaims {
  sub: string;
  sid?: string;
  exp: number;
  iat?: number;
  [claim: string]: unknown;
}

export interface RegisterInput {
  email: string;
  password: string;
  firstName?: string | null;
  lastName?: string | null;
  locale?: string | null;
}

/** What the client did, for tests and diagnostics. */
export interface RefreshStats {
  /** Refresh requests this tab sent to Warden. */
  requests: number;
  /** Times this tab took a token another tab had just refreshed instead of calling Warden. */
  adopted: number;
  /** Times this tab gave up waiting for the lock and refreshed without it. */
  lockTimeouts: number;
}

/** An error answer from Warden: the contract's `{code, message[, errors][, error]}` and the HTTP status. */
export class WardenError extends Error {
  readonly status: number;
  readonly code: number;
  readonly errors?: Record<string, unknown>;
  readonly body: unknown;
  constructor(status: number, body: any) {
    super(typeof body?.message === "string" ? body.message : `Warden answered ${status}`);
    this.name = "WardenError";
    this.status = status;
    this.code = typeof body?.code === "number" ? body.code : status;
    this.errors = body?.errors;
    this.body = body;
  }

  /**
   * A sensitive operation refused because the session is not fresh: prove a second factor with
   * `startStepUp` and `verifyStepUp` (or sign in again when the user has none), then retry with
   * the verification token.
   */
  get isStepUpRequired(): boolean {
    return this.status === 403 && (this.body as { error?: unknown } | null)?.error === "mfa_required";
  }
}

type Message = { type: "token"; token: string } | { type: "ask" } | { type: "signed-out" };

type Listener = (event: AuthEvent, session: Session | null) => void;

/** A token this close to its `exp` is treated as expired (clock skew, request time): 5 s, or a tenth of a short token's life. */
const EXPIRY_MARGIN_MS = 5_000;

export function decodeClaims(token: string): AccessClaims | null {
  try {
    const part = token.split(".")[1];
    if (!part) return null;
    const base64 = part
      .replace(/-/g, "+")
      .replace(/_/g, "/")
      .padEnd(Math.ceil(part.length / 4) * 4, "=");
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return typeof claims?.exp === "number" ? claims : null;
  } catch {
    return null;
  }
}

export class WardenClient {
  readonly baseUrl: string;
  readonly stats: RefreshStats = { requests: 0, adopted: 0, lockTimeouts: 0 };
  private token: string | null = null;
  private claims: AccessClaims | null = null;
  private refreshing: Promise<string | null> | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private listeners = new Set<Listener>();
  private channel: BroadcastChannel | null = null;
  private waiters = new Set<(token: string) => void>();
  /** The newest refresh this tab knows of (ms since epoch), compared with the shared storage mark. */
  private knownRefreshAt = 0;
  private readonly options: Required<Omit<WardenClientOptions, "baseUrl">>;

  constructor(options: WardenClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.options = {
      autoRefresh: options.autoRefresh ?? true,
      lockTimeoutMs: options.lockTimeoutMs ?? 10_000,
      refreshTimeoutMs: options.refreshTimeoutMs ?? 15_000,
      askTimeoutMs: options.askTimeoutMs ?? 300,
      name: options.name ?? "warden",
    };
    if (typeof BroadcastChannel !== "undefined") {
      this.channel = new BroadcastChannel(`${this.options.name}-auth`);
      this.channel.onmessage = (event: MessageEvent<Message>) => this.onMessage(event.data);
    }
  }

  // ---- Sign-in flows -------------------------------------------------------------------------

  /** Email and password: signed in, or the second step to answer with `verifyMfa`. */
  async login(email: string, password: string): Promise<LoginResult> {
    return this.loginResult(await this.call("/api/auth", { email, password }));
  }

  /** Answers the challenge of `login` with a TOTP code (default), a backup code or an emailed code. */
  async verifyMfa(mfaToken: string, code: string, type: CodeMethod = "totp"): Promise<TokenPair> {
    return this.tokens(await this.call("/api/auth/mfa/verify", { mfaToken, code, type }));
  }

  /** Answers the challenge of `login` with one of the user's passkeys (the browser's prompt runs). */
  async verifyMfaWithPasskey(mfaToken: string, signal?: AbortSignal): Promise<TokenPair> {
    const options: RequestOptionsJSON = await this.call("/api/auth/mfa/passkey/options", { mfaToken });
    const credential = await getPasskeyCredential(options, signal);
    return this.tokens(await this.call("/api/auth/mfa/verify", { mfaToken, type: "passkey", credential }));
  }

  /** Mails a code for the `email_otp` method of a login's challenge (at most one a minute). */
  async sendMfaEmailCode(mfaToken: string): Promise<void> {
    await this.call("/api/auth/mfa/email-otp/send", { mfaToken });
  }

  /**
   * Passwordless sign-in: the browser offers the passkeys it holds for Warden (discoverable
   * credentials, user verification required), so no email is asked for and no MFA step follows.
   */
  async loginWithPasskey(signal?: AbortSignal): Promise<TokenPair> {
    const options: RequestOptionsJSON & { sessionId: string } = await this.call("/api/auth/passkey/login/options", {});
    const credential = await getPasskeyCredential(options, signal);
    return this.tokens(await this.call("/api/auth/passkey/login", { sessionId: options.sessionId, credential }));
  }

  /**
   * Google: hand over the ID token your page got from Google's own library (`credential`), and
   * the raw nonce if you put one in Google's request. Signed in, or the MFA challenge of `login`.
   */
  async signInWithGoogle(idToken: string, options: { nonce?: string } = {}): Promise<LoginResult> {
    return this.loginResult(await this.call("/api/auth/google", { credential: idToken, nonce: options.nonce }));
  }

  /**
   * Apple: the `id_token` (identityToken) from Sign in with Apple JS, the raw nonce whose SHA-256
   * (hex) you gave Apple, and the name Apple hands over on the first sign-in only.
   */
  async signInWithApple(
    identityToken: string,
    options: { nonce?: string; fullName?: { givenName?: string | null; familyName?: string | null } } = {},
  ): Promise<LoginResult> {
    return this.loginResult(
      await this.call("/api/auth/apple", { identityToken, nonce: options.nonce, fullName: options.fullName }),
    );
  }

  /** Creates an account. With email confirmation on (the default) nobody is signed in yet: `{message, email}`. */
  async register(input: RegisterInput): Promise<{ message: string; email: string } | TokenPair> {
    const body = await this.call("/api/auth/register", input);
    if (typeof body.token === "string") {
      this.signedIn(body.token);
      return { mfaRequired: false, accessToken: body.token };
    }
    return { message: body.message, email: body.email };
  }

  confirmEmail(token: string): Promise<{ message: string }> {
    return this.call("/api/auth/confirm-email", { token });
  }

  forgotPassword(email: string): Promise<{ message: string }> {
    return this.call("/api/auth/forgot-password", { email });
  }

  /** Sets a new password from the mail's token; Warden ends every session of the user. */
  resetPassword(token: string, password: string): Promise<{ message: string }> {
    return this.call("/api/auth/reset-password", { token, password });
  }

  /**
   * Lifts the login throttle of an account that wrong passwords from elsewhere have spent, with
   * the token of the link Warden mails its owner (`/unlock-account?token=`), and makes this
   * browser a known device of the owner: its logins pass while the account stays throttled.
   */
  unlockAccount(token: string): Promise<{ message: string }> {
    return this.call("/api/auth/unlock", { token });
  }

  /**
   * Asks for a new sign-in address: Warden mails a link to it (`/confirm-email-change?token=`)
   * and a notice to the current one; nothing changes until the link is opened. Sensitive, as
   * `registerPasskey`; 409 when another account has the address.
   */
  async changeEmail(email: string, options: SensitiveOptions = {}): Promise<{ message: string }> {
    return this.authed("POST", "/api/v1/me/email", { email }, options.verificationToken);
  }

  /** Makes the new address the account's, with the token of the link mailed to it. */
  confirmEmailChange(token: string): Promise<{ message: string }> {
    return this.call("/api/auth/confirm-email-change", { token });
  }

  /** The signed-in user (`GET /api/v1/me`), or null when nobody is. */
  async getUser(): Promise<Record<string, unknown> | null> {
    const response = await this.fetch("/api/v1/me");
    if (response.status === 401) return null;
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new WardenError(response.status, body);
    return body;
  }

  // ---- The signed-in user's passkeys, linked identities and step-up ---------------------------

  /**
   * Adds a passkey (the browser's prompt runs). Sensitive: the session must be fresh
   * (`REAUTH_MAX_AGE`) or `verificationToken` given, else a WardenError with `isStepUpRequired`.
   */
  async registerPasskey(
    options: { name?: string } & SensitiveOptions = {},
    signal?: AbortSignal,
  ): Promise<PasskeyInfo> {
    const creation: CreationOptionsJSON = await this.authed(
      "POST",
      "/api/v1/passkey/register/options",
      {},
      options.verificationToken,
    );
    const credential = await createPasskeyCredential(creation, signal);
    return this.authed("POST", "/api/v1/passkey/register", { name: options.name, credential });
  }

  listPasskeys(): Promise<PasskeyInfo[]> {
    return this.authed("GET", "/api/v1/me/passkeys");
  }

  /** Renames a passkey (1 to 100 characters once trimmed); not sensitive. */
  renamePasskey(id: string, name: string): Promise<PasskeyInfo> {
    return this.authed("PATCH", `/api/v1/me/passkeys/${encodeURIComponent(id)}`, { name });
  }

  /** Removes a passkey. Sensitive, as `registerPasskey`. */
  async deletePasskey(id: string, options: SensitiveOptions = {}): Promise<void> {
    await this.authed("DELETE", `/api/v1/me/passkeys/${encodeURIComponent(id)}`, undefined, options.verificationToken);
  }

  async listIdentities(): Promise<LinkedIdentity[]> {
    return (await this.authed("GET", "/api/v1/me/identities")).data;
  }

  /** Unlinks a Google or Apple account. Sensitive; refused (409) when it is the user's only way in. */
  async unlinkIdentity(id: string, options: SensitiveOptions = {}): Promise<void> {
    await this.authed(
      "DELETE",
      `/api/v1/me/identities/${encodeURIComponent(id)}`,
      undefined,
      options.verificationToken,
    );
  }

  // ---- The signed-in user's API keys (docs/integrators.md) ------------------------------------

  /** The user's keys, revoked ones too (`revokedAt` set). */
  async listApiKeys(): Promise<ApiKeyInfo[]> {
    return (await this.authed("GET", "/api/v1/api-tokens")).data;
  }

  /** The scopes this user may grant, from the server's catalogue (empty: no key can be made). */
  async listApiKeyScopes(): Promise<ApiKeyScope[]> {
    return (await this.authed("GET", "/api/v1/api-tokens/scopes")).scopes;
  }

  /**
   * Creates a key; `token` is in this answer and never again. Sensitive, as `registerPasskey`.
   * `expiresAt`: ISO 8601 in the future; absent, the key never expires.
   */
  createApiKey(
    input: { name: string; scopes: string[]; expiresAt?: string | null },
    options: SensitiveOptions = {},
  ): Promise<NewApiKey> {
    return this.authed("POST", "/api/v1/api-tokens", input, options.verificationToken);
  }

  /**
   * Replaces a key by a new one with the same name, scopes and expiry; the new `token` is in this
   * answer only and the old key stops working at once. Sensitive, as `createApiKey`. Refused
   * (400) for a revoked or expired key.
   */
  rotateApiKey(id: string, options: SensitiveOptions = {}): Promise<NewApiKey> {
    return this.authed(
      "POST",
      `/api/v1/api-tokens/${encodeURIComponent(id)}/rotate`,
      undefined,
      options.verificationToken,
    );
  }

  /** Renames a key or changes its scopes (within what this user may grant); the key itself stays. */
  updateApiKey(id: string, patch: { name?: string; scopes?: string[] }): Promise<ApiKeyInfo> {
    return this.authed("PATCH", `/api/v1/api-tokens/${encodeURIComponent(id)}`, patch);
  }

  /** Revokes a key at once, on every Warden instance (404 when it is not this user's). */
  async revokeApiKey(id: string): Promise<void> {
    await this.authed("DELETE", `/api/v1/api-tokens/${encodeURIComponent(id)}`);
  }

  /** Starts proving a second factor again, inside this session, before a sensitive operation. */
  async startStepUp(): Promise<StepUpChallenge> {
    const body = await this.authed("POST", "/api/v1/mfa/challenge", {});
    return body.mfa_required
      ? { mfaRequired: true, challengeToken: body.challenge_token, methods: body.methods }
      : { mfaRequired: false };
  }

  /** Answers a step-up challenge with a code; returns the verification token (single use, 120 s, this session only). */
  async verifyStepUp(challengeToken: string, code: string, type: CodeMethod = "totp"): Promise<string> {
    return (await this.authed("POST", "/api/v1/mfa/verify", { challengeToken, type, code })).verification_token;
  }

  /** Answers a step-up challenge with a passkey; returns the verification token. */
  async verifyStepUpWithPasskey(challengeToken: string, signal?: AbortSignal): Promise<string> {
    const options: RequestOptionsJSON = await this.authed("POST", "/api/v1/mfa/passkey/options", { challengeToken });
    const credential = await getPasskeyCredential(options, signal);
    return (await this.authed("POST", "/api/v1/mfa/verify", { challengeToken, type: "passkey", credential }))
      .verification_token;
  }

  /** Ends the session at Warden (the cookie goes with it) and in every tab. */
  async logout(): Promise<void> {
    try {
      await fetch(`${this.baseUrl}/api/auth/logout`, { method: "POST", credentials: "include" });
    } finally {
      this.post({ type: "signed-out" });
      this.signedOut();
    }
  }

  // ---- Tokens ----------------------------------------------------------------------------------

  /** The current session, without any network call. */
  get session(): Session | null {
    return this.token && this.claims ? { accessToken: this.token, claims: this.claims } : null;
  }

  /** A usable access token: the one in memory, or a refreshed one (from another tab or Warden); null when signed out. */
  async getAccessToken(): Promise<string | null> {
    if (this.token && this.isFresh(this.claims)) return this.token;
    return this.refresh();
  }

  /**
   * `fetch` with `Authorization: Bearer <access token>`. A 401 refreshes once (unless another tab
   * or call already did) and retries once. Paths starting with `/` are resolved against `baseUrl`.
   */
  async fetch(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
    const url = typeof input === "string" && input.startsWith("/") ? `${this.baseUrl}${input}` : input;
    const send = (token: string | null) => {
      const request = new Request(url instanceof Request ? url.clone() : url, init);
      if (token) request.headers.set("Authorization", `Bearer ${token}`);
      return fetch(request);
    };
    const token = await this.getAccessToken();
    const response = await send(token);
    if (response.status !== 401 || !token) return response;
    const fresh = await this.refresh(token);
    return fresh ? send(fresh) : response;
  }

  /** Called with every change: signed in, token refreshed (here or in another tab), signed out. Returns an unsubscribe. */
  onAuthStateChange(callback: Listener): () => void {
    this.listeners.add(callback);
    return () => this.listeners.delete(callback);
  }

  /**
   * A new access token: one per tab at a time (later callers share it), one tab at a time across
   * the origin. `failed` is a token the server just refused; a different fresh one in memory means
   * another call or tab already refreshed, so it is returned without a request.
   */
  refresh(failed?: string): Promise<string | null> {
    if (failed && this.token && this.token !== failed && this.isFresh(this.claims)) return Promise.resolve(this.token);
    if (!this.refreshing) {
      const before = this.token;
      this.refreshing = this.refreshAcrossTabs(before).finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  /** Stops timers and the channel (tests, or an app tearing the client down). */
  close(): void {
    clearTimeout(this.timer);
    this.channel?.close();
    this.channel = null;
  }

  // ---- Internals -------------------------------------------------------------------------------

  private async refreshAcrossTabs(before: string | null): Promise<string | null> {
    const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
    if (!locks) return this.refreshNow();
    const name = `${this.options.name}-refresh`;
    try {
      // A free lock: no tab is refreshing now.
      const free = await locks.request(name, { ifAvailable: true }, async (lock) =>
        lock ? { token: (await this.tokenFromOtherTab(before, false)) ?? (await this.refreshNow()) } : null,
      );
      if (free) return free.token;
      // A held lock: another tab is most likely refreshing. Its broadcast and its storage mark are not
      // ordered with the lock's release, so this tab may get the lock before either reaches it: ask.
      return await locks.request(
        name,
        { signal: AbortSignal.timeout(this.options.lockTimeoutMs) },
        async () => (await this.tokenFromOtherTab(before, true)) ?? this.refreshNow(),
      );
    } catch (error) {
      if ((error as Error)?.name !== "TimeoutError" && (error as Error)?.name !== "AbortError") throw error;
      // The lock holder is stuck (its request hangs, or it is frozen): refresh anyway; the grace window covers it.
      this.stats.lockTimeouts++;
      if (this.token && this.token !== before && this.isFresh(this.claims)) return this.token;
      return this.refreshNow();
    }
  }

  /**
   * Inside the lock: did another tab refresh meanwhile? Its broadcast may already be here (a
   * different fresh token in memory). Else the other tabs are asked for their token, unless this
   * tab found the lock free, holds a token that is no longer fresh (a call is waiting for the new
   * one) and the storage mark shows no refresh it has not seen: a tab alone then refreshes at once.
   * A refresh ahead of expiry always asks, since another tab's timer may have fired a moment
   * earlier and its broadcast not arrived yet; nobody waits for it. A token equal to `before`
   * (the one just refused) is no answer.
   */
  private async tokenFromOtherTab(before: string | null, waited: boolean): Promise<string | null> {
    if (this.token && this.token !== before && this.isFresh(this.claims)) {
      this.stats.adopted++;
      return this.token;
    }
    if (!this.channel) return null;
    const markSeen = this.readRefreshMark() <= this.knownRefreshAt;
    if (!waited && this.token !== null && !this.isFresh(this.claims) && markSeen) return null;
    const token = await new Promise<string | null>((resolve) => {
      const timeout = setTimeout(() => {
        this.waiters.delete(done);
        resolve(null);
      }, this.options.askTimeoutMs);
      const done = (token: string) => {
        if (before !== null && token === before) return;
        clearTimeout(timeout);
        this.waiters.delete(done);
        resolve(token);
      };
      this.waiters.add(done);
      this.post({ type: "ask" });
    });
    if (token) this.stats.adopted++;
    return token;
  }

  /** POST /api/auth/token/refresh with the cookie. Null when there is no valid session (signed out). */
  private async refreshNow(): Promise<string | null> {
    this.stats.requests++;
    const response = await fetch(`${this.baseUrl}/api/auth/token/refresh`, {
      method: "POST",
      credentials: "include",
      signal: AbortSignal.timeout(this.options.refreshTimeoutMs),
    });
    const body = await response.json().catch(() => null);
    if (response.ok && typeof body?.token === "string") {
      const at = Date.now();
      this.knownRefreshAt = at;
      this.writeRefreshMark(at);
      this.setToken(body.token, "TOKEN_REFRESHED");
      this.post({ type: "token", token: body.token });
      return body.token;
    }
    // No cookie, or a refresh token that is expired, revoked or reused: nobody is signed in any more.
    if (response.status === 400 || response.status === 401) {
      if (this.token) {
        this.post({ type: "signed-out" });
        this.signedOut();
      }
      return null;
    }
    throw new WardenError(response.status, body);
  }

  private onMessage(message: Message): void {
    if (message.type === "ask") {
      if (this.token && this.isFresh(this.claims)) this.post({ type: "token", token: this.token });
    } else if (message.type === "token") {
      const claims = decodeClaims(message.token);
      if (!claims || !this.isFresh(claims)) return;
      // Take it if it is newer than ours (or we have none); either way it answers a waiting ask.
      if (
        !this.claims ||
        claims.exp > this.claims.exp ||
        (claims.exp === this.claims.exp && !this.isFresh(this.claims))
      ) {
        this.knownRefreshAt = Math.max(this.knownRefreshAt, this.readRefreshMark());
        this.setToken(message.token, this.token ? "TOKEN_REFRESHED" : "SIGNED_IN");
      }
      for (const waiter of [...this.waiters]) waiter(this.token ?? message.token);
    } else if (message.type === "signed-out") {
      if (this.token) this.signedOut();
    }
  }

  private signedIn(token: string): void {
    const at = Date.now();
    this.knownRefreshAt = at;
    this.writeRefreshMark(at);
    this.setToken(token, "SIGNED_IN");
    this.post({ type: "token", token });
  }

  private signedOut(): void {
    clearTimeout(this.timer);
    const had = this.token !== null;
    this.token = null;
    this.claims = null;
    if (had) this.emit("SIGNED_OUT");
  }

  private setToken(token: string, event: AuthEvent): void {
    this.token = token;
    this.claims = decodeClaims(token);
    this.schedule();
    this.emit(event);
  }

  /** Refresh a little before `exp`: a quarter of the token's life, at most a minute, plus jitter so tabs do not collide. */
  private schedule(): void {
    clearTimeout(this.timer);
    if (!this.options.autoRefresh || !this.claims) return;
    const lifetimeMs = (this.claims.exp - (this.claims.iat ?? this.claims.exp - 3600)) * 1000;
    const leewayMs = Math.min(60_000, lifetimeMs / 4);
    const jitterMs = Math.random() * Math.min(1_000, leewayMs / 4);
    const delay = Math.max(0, this.claims.exp * 1000 - leewayMs - Date.now() + jitterMs);
    const token = this.token;
    this.timer = setTimeout(() => {
      if (token && this.token === token) this.refresh(token).catch(() => undefined);
    }, delay);
  }

  private isFresh(claims: AccessClaims | null): boolean {
    if (!claims) return false;
    const lifetimeMs = (claims.exp - (claims.iat ?? claims.exp - 3600)) * 1000;
    return claims.exp * 1000 - Math.min(EXPIRY_MARGIN_MS, lifetimeMs / 10) > Date.now();
  }

  private emit(event: AuthEvent): void {
    const session = this.session;
    for (const listener of [...this.listeners]) {
      try {
        listener(event, session);
      } catch (error) {
        setTimeout(() => {
          throw error;
        });
      }
    }
  }

  private post(message: Message): void {
    this.channel?.postMessage(message);
  }

  private readRefreshMark(): number {
    try {
      return Number(localStorage.getItem(`${this.options.name}-refreshed-at`)) || 0;
    } catch {
      return 0;
    }
  }

  private writeRefreshMark(at: number): void {
    try {
      localStorage.setItem(`${this.options.name}-refreshed-at`, String(at));
    } catch {
      // Storage disabled: tabs still share tokens over the channel, they just ask less often.
    }
  }

  /** A sign-in answer: tokens (now signed in) or the MFA challenge. */
  private loginResult(body: any): LoginResult {
    if (body.mfa_required) return { mfaRequired: true, mfaToken: body.mfa_token, methods: body.mfa_methods };
    return this.tokens(body);
  }

  private tokens(body: any): TokenPair {
    this.signedIn(body.token);
    return { mfaRequired: false, accessToken: body.token };
  }

  /** A call with the access token (through `fetch`, so a 401 refreshes once); the parsed body, null for 204. */
  private async authed(method: string, path: string, payload?: unknown, verificationToken?: string): Promise<any> {
    const headers: Record<string, string> = {};
    if (payload !== undefined) headers["Content-Type"] = "application/json";
    if (verificationToken) headers["X-Verification-Token"] = verificationToken;
    const response = await this.fetch(path, {
      method,
      headers,
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    const body = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) throw new WardenError(response.status, body);
    return body;
  }

  /** POST JSON to Warden with the cookie; the parsed body, or a WardenError. */
  private async call(path: string, payload: unknown): Promise<any> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method: "POST",
      credentials: "include",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new WardenError(response.status, body);
    return body;
  }
}

/** The client for one Warden; create one per page and share it. */
export function createWardenClient(options: WardenClientOptions): WardenClient {
  return new WardenClient(options);
}
