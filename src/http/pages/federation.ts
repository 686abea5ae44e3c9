import crypto from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AuthError } from "../../domain/errors.js";
import { unlinkIdentity } from "../../domain/federation/linked-identities.js";
import type { ProviderName } from "../../domain/federation/ports.js";
import { PROVIDER_LABEL, signInWithProvider } from "../../domain/federation/sign-in.js";
import type { LoginResult } from "../../domain/sessions/login.js";
import { requestContext } from "../context.js";
import { isSecureCookieUrl } from "../plugins/refresh-cookie.js";
import { ACCOUNT } from "./account.js";
import type { PageDeps } from "./index.js";
import { pageCookieOptions } from "./page-session.js";
import { render } from "./render.js";
import { field, pageSchema, redirectQuery } from "./schemas.js";
import { sensitiveAction } from "./sensitive.js";

/**
 * "Continue with Google / Apple" without the providers' scripts (the pages load nothing from
 * elsewhere), through their redirect flows that return an ID token and need no client secret:
 *
 * 1. GET /login/{provider} makes a state and a nonce, seals them (with `redirect_to` and an
 *    expiry) into a short-lived HttpOnly cookie bound to this browser, and redirects to the
 *    provider's authorization endpoint.
 * 2. The provider sends the browser back with the ID token: Google in the URL fragment
 *    (`response_type=id_token`), which /assets/pages.js posts on; Apple as a cross-site form post
 *    (`response_mode=form_post`), which carries no SameSite=Lax cookie, so that page posts it on
 *    again from Warden's own origin.
 * 3. POST /login/federated, same-origin with the cookie and the CSRF token: the state must match
 *    the cookie's and be unused (spent by one atomic counter increment), and the ID token is
 *    verified by the federation code with the cookie's nonce (issuer, audience = the configured
 *    client ids, expiry, signature). Then the sign-in goes on as a password sign-in does.
 */
const STATE_TTL_SECONDS = 600;
const SEAL_PURPOSE = "page-federation-state";
const PROVIDERS: readonly ProviderName[] = ["google", "apple"];

interface SealedState {
  provider: ProviderName;
  state: string;
  nonce: string;
  redirectTo: string;
  expiresAt: number;
}

type ReturnForm = { provider?: string; id_token?: string; state?: string; user?: string; error?: string };

const sha256Hex = (value: string) => crypto.createHash("sha256").update(value).digest("hex");

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/** Apple's `user` form field (first sign-in only): `{"name":{"firstName":"Ana","lastName":"Pop"}}`. */
function appleName(user: string | undefined): { givenName?: string | null; familyName?: string | null } | undefined {
  if (!user) return undefined;
  try {
    const name = (JSON.parse(user) as { name?: { firstName?: unknown; lastName?: unknown } }).name;
    const text = (v: unknown) => (typeof v === "string" ? v : null);
    return name ? { givenName: text(name.firstName), familyName: text(name.lastName) } : undefined;
  } catch {
    return undefined;
  }
}

export function federationPages(
  pages: FastifyInstance,
  deps: PageDeps,
  signIn: {
    afterFirstStep(request: FastifyRequest, reply: FastifyReply, result: LoginResult, redirectTo: unknown): unknown;
    refusedLogin(
      request: FastifyRequest,
      reply: FastifyReply,
      problem: AuthError | string,
      redirectTo: unknown,
      field?: string,
    ): Promise<FastifyReply>;
  },
): void {
  const { config } = deps;
  // A __Host- cookie cannot be planted by a sibling subdomain; the prefix needs Secure, so plain-HTTP development goes without.
  const cookieName = isSecureCookieUrl(config) ? "__Host-warden_federation" : "warden_federation";
  const cookieOptions = { ...pageCookieOptions(config), maxAge: STATE_TTL_SECONDS };
  const settings = {
    google: {
      authorizeUrl: config.GOOGLE_AUTHORIZE_URL,
      clientId: config.GOOGLE_WEB_CLIENT_ID ?? config.GOOGLE_CLIENT_IDS[0],
    },
    apple: {
      authorizeUrl: config.APPLE_AUTHORIZE_URL,
      clientId: config.APPLE_WEB_CLIENT_ID ?? config.APPLE_CLIENT_IDS[0],
    },
  };
  const callbackUrl = (provider: ProviderName) => `${config.PUBLIC_URL}/login/${provider}/callback`;

  /** The provider's authorization request: Google's implicit flow, Apple's form_post flow. */
  const authorizeUrl = (provider: ProviderName, state: string, nonce: string): string => {
    const url = new URL(settings[provider].authorizeUrl);
    const params: Record<string, string> =
      provider === "google"
        ? { response_type: "id_token", scope: "openid email profile", nonce, prompt: "select_account" }
        : // Apple puts the nonce into the token as given; Warden's check hashes the raw one (as for the apps).
          { response_type: "code id_token", response_mode: "form_post", scope: "name email", nonce: sha256Hex(nonce) };
    url.search = new URLSearchParams({
      client_id: settings[provider].clientId!,
      redirect_uri: callbackUrl(provider),
      state,
      ...params,
    }).toString();
    return url.toString();
  };

  for (const provider of PROVIDERS) {
    pages.get<{ Querystring: { redirect_to?: string } }>(
      `/login/${provider}`,
      {
        config: { rateLimit: "oauth_login" },
        schema: pageSchema(`page${PROVIDER_LABEL[provider]}Start`, `Go to ${PROVIDER_LABEL[provider]} to sign in`, {
          query: redirectQuery,
        }),
      },
      (request, reply) => startSignIn(provider, request, reply),
    );
  }

  async function startSignIn(
    provider: ProviderName,
    request: FastifyRequest<{ Querystring: { redirect_to?: string } }>,
    reply: FastifyReply,
  ) {
    {
      if (!deps.idTokens[provider].isEnabled || !settings[provider].clientId) throw new AuthError("PROVIDER_DISABLED");
      const sealed: SealedState = {
        provider,
        state: deps.random.bytes(32).toString("base64url"),
        nonce: deps.random.bytes(32).toString("base64url"),
        redirectTo: request.query.redirect_to ?? "",
        expiresAt: deps.clock.now().getTime() + STATE_TTL_SECONDS * 1000,
      };
      reply.setCookie(cookieName, deps.box.encrypt(SEAL_PURPOSE, JSON.stringify(sealed)), cookieOptions);
      return reply.redirect(authorizeUrl(provider, sealed.state, sealed.nonce), 303);
    }
  }

  /** The page that posts the provider's answer on to /login/federated from Warden's own origin. */
  const showReturn = (request: FastifyRequest, reply: FastifyReply, provider: ProviderName, values: ReturnForm) =>
    render(request, reply, "federation-return", {
      title: request.page.t.federationReturnTitle(PROVIDER_LABEL[provider]),
      provider,
      providerLabel: PROVIDER_LABEL[provider],
      fromFragment: provider === "google",
      values: {
        id_token: values.id_token ?? "",
        state: values.state ?? "",
        user: values.user ?? "",
        error: values.error ?? "",
      },
    });

  pages.get(
    "/login/google/callback",
    { schema: pageSchema("pageGoogleReturn", "Google's redirect back (the ID token is in the fragment)") },
    async (request, reply) => showReturn(request, reply, "google", {}),
  );

  pages.post<{ Body: ReturnForm & { code?: string } }>(
    "/login/apple/callback",
    {
      // Apple's form_post comes from appleid.apple.com: no Origin of ours, no CSRF token, no Lax
      // cookies. It changes nothing; it only hands the fields to a same-origin post.
      config: { crossSiteForm: true },
      schema: pageSchema("pageAppleReturn", "Apple's form_post back (id_token, state, user on the first sign-in)", {
        body: { id_token: field(8192), state: field(256), user: field(1024), code: field(1024), error: field(128) },
        example: { id_token: "eyJ…", state: "…", code: "…" },
      }),
    },
    async (request, reply) => showReturn(request, reply, "apple", request.body ?? {}),
  );

  pages.post<{ Body: ReturnForm }>(
    "/login/federated",
    {
      config: { rateLimit: "oauth_login" },
      schema: pageSchema("pageFederationFinish", "Finish a Google or Apple sign-in with the returned ID token", {
        body: { provider: field(16), id_token: field(8192), state: field(256), user: field(1024), error: field(128) },
        example: { provider: "google", id_token: "eyJ…", state: "…", _csrf: "…" },
      }),
    },
    async (request, reply) => {
      const { t } = request.page;
      const form = request.body ?? {};
      const provider = PROVIDERS.find((p) => p === form.provider) ?? "google";
      const sealed = openState(request.cookies[cookieName]);
      reply.clearCookie(cookieName, pageCookieOptions(config));
      const redirectTo = sealed?.redirectTo;
      // The person said no at the provider, or closed the page: back to the sign-in page, nothing spent.
      if (form.error)
        return signIn.refusedLogin(
          request,
          reply,
          t.federationCancelled(PROVIDER_LABEL[provider]),
          redirectTo,
          provider,
        );
      const valid =
        sealed !== null &&
        sealed.provider === provider &&
        sealed.expiresAt > deps.clock.now().getTime() &&
        typeof form.state === "string" &&
        sameString(form.state, sealed.state) &&
        // Single use: the first increment of this state's counter is the only one that passes.
        (await deps.counters.increment(`page-federation:${sha256Hex(sealed.state)}`, 1, STATE_TTL_SECONDS)) === 1;
      if (!valid || !form.id_token) {
        return signIn.refusedLogin(request, reply, t.federationExpired(PROVIDER_LABEL[provider]), redirectTo, provider);
      }
      try {
        const result = await signInWithProvider(
          deps,
          provider,
          {
            token: form.id_token,
            nonce: sealed.nonce,
            fullName: provider === "apple" ? appleName(form.user) : undefined,
          },
          requestContext(request),
        );
        return await signIn.afterFirstStep(request, reply, result, redirectTo);
      } catch (error) {
        if (!(error instanceof AuthError) || error.code === "RATE_LIMITED" || error.code === "OVERLOADED") throw error;
        return signIn.refusedLogin(request, reply, error, redirectTo, provider);
      }
    },
  );

  function openState(cookie: string | undefined): SealedState | null {
    if (!cookie) return null;
    try {
      return JSON.parse(deps.box.decrypt(SEAL_PURPOSE, cookie)) as SealedState;
    } catch {
      return null;
    }
  }

  // ---- Linked identities on /account: unlink is a sensitive operation, never the last way in.
  sensitiveAction(pages, deps, {
    action: "identity-unlink",
    section: "identities",
    notice: "identity-unlinked",
    errorField: (pending) => `unlink-${pending.target}`,
    async perform(request, _reply, auth, pending, verificationToken) {
      await unlinkIdentity(deps, auth, pending.target, verificationToken, requestContext(request));
      return undefined;
    },
    form: {
      path: `${ACCOUNT}/identities/unlink`,
      operationId: "pageUnlinkIdentity",
      summary: "Unlink a Google or Apple account (a sensitive operation)",
    },
  });
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** A page route that a provider posts to from its own site: no Origin or CSRF check (it must change nothing). */
    crossSiteForm?: boolean;
  }
}
