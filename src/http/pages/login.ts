import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { TokenPair } from "../../domain/context.js";
import { AuthError } from "../../domain/errors.js";
import { resendConfirmation } from "../../domain/accounts/email-confirmation.js";
import type { MfaMethod } from "../../domain/factors/challenges.js";
import { verifyMfaChallenge } from "../../domain/factors/verify.js";
import { login, needsSecondFactor } from "../../domain/sessions/login.js";
import { refreshSession } from "../../domain/sessions/refresh-tokens.js";
import { logout, logoutSession } from "../../domain/sessions/sessions.js";
import { requestContext } from "../context.js";
import { allowedOrigins, claimedOrigin } from "../plugins/origins.js";
import type { PageDeps } from "./index.js";
import { endPageSession, startPageSession } from "./page-session.js";
import { DEFAULT_AFTER_LOGIN, safeLocalPath, safeRedirect } from "./redirects.js";
import { formErrorsOf, noErrors, render, statusOf, type FormErrors } from "./render.js";
import { field, pageSchema, redirectQuery } from "./schemas.js";

type LoginForm = { email?: string; password?: string; redirect_to?: string };
type MfaForm = { mfa_token?: string; methods?: string; type?: string; code?: string; redirect_to?: string };

const METHODS: readonly MfaMethod[] = ["totp", "backup_code"];

/** Page helpers that need the refresh cookie, so they live under its Path (/api/auth). */
export const RESUME_PATH = "/api/auth/page/resume";
export const LOGOUT_PATH = "/api/auth/page/logout";

/**
 * Sign-in methods other than the password appear on the login page only when they exist:
 * passkeys (domain/factors/passkeys) and Google/Apple (domain/federation, when their client ids
 * are configured) set their flag here when they land, and fill views/partials/sign-in-alternatives.eta.
 */
export function signInAlternatives(): { passkeys: boolean; google: boolean; apple: boolean } {
  return { passkeys: false, google: false, apple: false };
}

export function loginPages(pages: FastifyInstance, deps: PageDeps): void {
  const { config } = deps;
  const allowed = allowedOrigins(config);
  const target = (value: unknown) => safeRedirect(value, config.PUBLIC_URL, allowed);

  const showLogin = (
    request: FastifyRequest,
    reply: FastifyReply,
    values: LoginForm,
    errors: FormErrors = noErrors(),
    status = 200,
    extra: Record<string, unknown> = {},
  ) =>
    render(
      request,
      reply,
      "login",
      {
        title: request.page.t.loginTitle,
        values: { email: values.email ?? "", redirect_to: target(values.redirect_to) ?? "" },
        errors,
        alternatives: signInAlternatives(),
        ...extra,
      },
      status,
    );

  const showMfa = (
    request: FastifyRequest,
    reply: FastifyReply,
    form: { mfa_token: string; methods: MfaMethod[]; redirect_to: string },
    errors: FormErrors = noErrors(),
    status = 200,
    openMethod: MfaMethod = "totp",
  ) =>
    render(
      request,
      reply,
      "mfa",
      { title: request.page.t.mfaTitle, form, errors, openMethod, alternatives: signInAlternatives() },
      status,
    );

  /** After both steps: the cookies, then wherever the sign-in was for. */
  const signedIn = (reply: FastifyReply, tokens: TokenPair, redirectTo: unknown) => {
    startPageSession(reply, config, tokens);
    return reply.redirect(target(redirectTo) ?? DEFAULT_AFTER_LOGIN, 303);
  };

  pages.get<{ Querystring: { redirect_to?: string; prompt?: string } }>(
    "/login",
    { schema: pageSchema("pageLogin", "Sign-in page", { query: { ...redirectQuery, prompt: field(16) } }) },
    async (request, reply) => {
      // Already signed in: straight on, unless the app asks for a fresh sign-in (prompt=login).
      if (request.page.user && request.query.prompt !== "login") {
        return reply.redirect(target(request.query.redirect_to) ?? DEFAULT_AFTER_LOGIN, 303);
      }
      return showLogin(request, reply, { redirect_to: request.query.redirect_to });
    },
  );

  pages.post<{ Body: LoginForm }>(
    "/login",
    {
      config: { rateLimit: "login", hashesPassword: true },
      schema: pageSchema("pageLoginSubmit", "Sign in with email and password", {
        body: { email: field(320), password: field(4096), redirect_to: field(2048) },
        example: { email: "ana@example.com", password: "plum tree in winter", redirect_to: "/account", _csrf: "…" },
      }),
    },
    async (request, reply) => {
      const { t, locale } = request.page;
      const form = request.body ?? {};
      const errors = noErrors();
      if (!form.email?.trim()) errors.fields.email = [t.required];
      if (!form.password) errors.fields.password = [t.required];
      for (const [name, texts] of Object.entries(errors.fields)) errors.summary.push({ text: texts[0]!, field: name });
      if (errors.summary.length > 0) return showLogin(request, reply, form, errors, 400);
      try {
        const result = await login(deps, { email: form.email!, password: form.password! }, requestContext(request));
        if (needsSecondFactor(result)) {
          return showMfa(request, reply, {
            mfa_token: result.challengeToken,
            methods: result.methods,
            redirect_to: target(form.redirect_to) ?? "",
          });
        }
        return signedIn(reply, result, form.redirect_to);
      } catch (error) {
        if (!(error instanceof AuthError)) throw error;
        if (["RATE_LIMITED", "ACCOUNT_THROTTLED", "OVERLOADED"].includes(error.code)) throw error;
        return showLogin(request, reply, form, formErrorsOf(error, locale, "password"), statusOf(error), {
          unconfirmed: error.code === "EMAIL_NOT_CONFIRMED",
        });
      }
    },
  );

  pages.post<{ Body: MfaForm }>(
    "/login/mfa",
    {
      config: { rateLimit: "mfa" },
      schema: pageSchema("pageLoginMfa", "Answer the second step of a sign-in", {
        body: {
          mfa_token: field(256),
          methods: field(128),
          type: field(16),
          code: field(64),
          redirect_to: field(2048),
        },
        example: { mfa_token: "…", methods: "totp,backup_code", type: "totp", code: "123456", _csrf: "…" },
      }),
    },
    async (request, reply) => {
      const { locale } = request.page;
      const form = request.body ?? {};
      const methods = (form.methods ?? "").split(",").filter((m): m is MfaMethod => METHODS.includes(m as MfaMethod));
      const type: MfaMethod = form.type === "backup_code" ? "backup_code" : "totp";
      const step = {
        mfa_token: form.mfa_token ?? "",
        methods: methods.length ? methods : ["totp" as const],
        redirect_to: target(form.redirect_to) ?? "",
      };
      try {
        const tokens = await verifyMfaChallenge(
          deps,
          { mfaToken: form.mfa_token, code: form.code, type },
          requestContext(request),
        );
        return signedIn(reply, tokens, form.redirect_to);
      } catch (error) {
        if (!(error instanceof AuthError)) throw error;
        if (error.code === "MFA_CODE_INVALID" || error.code === "MFA_CODE_MISSING") {
          return showMfa(request, reply, step, formErrorsOf(error, locale, type), statusOf(error), type);
        }
        if (error.code === "RATE_LIMITED" || error.code === "OVERLOADED") throw error;
        // The challenge is over (expired, used up, five wrong codes): back to the password.
        return showLogin(
          request,
          reply,
          { redirect_to: form.redirect_to },
          formErrorsOf(error, locale),
          statusOf(error),
        );
      }
    },
  );

  pages.post<{ Body: { email?: string } }>(
    "/confirm-email/resend",
    {
      config: { rateLimit: "register" },
      schema: pageSchema("pageResendConfirmation", "Send the confirmation mail again", {
        body: { email: field(320) },
        example: { email: "ana@example.com", _csrf: "…" },
      }),
    },
    async (request, reply) => {
      const { t } = request.page;
      const email = request.body?.email?.trim() ?? "";
      // Always the same answer, whether or not an unconfirmed account uses the address.
      if (email) {
        try {
          await resendConfirmation(deps, email, requestContext(request));
        } catch (error) {
          if (!(error instanceof AuthError) || error.code !== "VALIDATION_FAILED") throw error;
        }
      }
      return render(request, reply, "message", {
        title: t.resendTitle,
        message: t.resent,
        links: [{ href: "/login", text: t.backToSignIn }],
      });
    },
  );

  /**
   * The pages' way back in after the page cookie expired: reached at /api/auth so the refresh
   * cookie comes along. Rotating on a GET is safe here (the caller only ever gets its own
   * cookies back), but a navigation started by another site is sent to the sign-in page instead.
   */
  pages.get<{ Querystring: { redirect_to?: string } }>(
    RESUME_PATH,
    {
      config: { rateLimit: "refresh" },
      schema: pageSchema("pageResume", "Renew a page session with the refresh cookie", { query: redirectQuery }),
    },
    async (request, reply) => {
      const back = safeLocalPath(request.query.redirect_to, config.PUBLIC_URL) ?? DEFAULT_AFTER_LOGIN;
      const toLogin = `/login?redirect_to=${encodeURIComponent(back)}`;
      const refreshToken = request.cookies[config.REFRESH_COOKIE_NAME];
      if (!refreshToken || !isOwnNavigation(request, allowed)) return reply.redirect(toLogin, 303);
      try {
        const tokens = await refreshSession(deps, refreshToken, requestContext(request));
        startPageSession(reply, config, tokens);
        return reply.redirect(back, 303);
      } catch (error) {
        if (!(error instanceof AuthError)) throw error;
        if (error.code === "RATE_LIMITED") throw error;
        endPageSession(reply, config);
        return reply.redirect(toLogin, 303);
      }
    },
  );

  pages.get("/logout", { schema: pageSchema("pageLogout", "Sign-out page") }, async (request, reply) =>
    render(request, reply, "logout", { title: request.page.t.logoutTitle, logoutPath: LOGOUT_PATH }),
  );

  /**
   * The sign-out form posts here, under /api/auth, so the refresh cookie comes along: the
   * session ends even when the page cookie has already expired.
   */
  pages.post(
    LOGOUT_PATH,
    { schema: pageSchema("pageLogoutSubmit", "Sign out of this browser", { body: {}, example: { _csrf: "…" } }) },
    async (request, reply) => {
      const ctx = requestContext(request);
      const refreshToken = request.cookies[config.REFRESH_COOKIE_NAME];
      if (refreshToken) {
        try {
          await logout(deps, refreshToken, ctx);
        } catch (error) {
          // A cookie whose session is already gone: nothing left to end.
          if (!(error instanceof AuthError) || error.code !== "REFRESH_TOKEN_INVALID") throw error;
        }
      }
      if (request.page.user) await logoutSession(deps, request.page.user, ctx);
      endPageSession(reply, config);
      return reply.redirect("/login?notice=signed-out", 303);
    },
  );
}

/** Fetch metadata: typed in, or from Warden's own pages; else a listed app named by its Referer. */
function isOwnNavigation(request: FastifyRequest, allowed: ReadonlySet<string>): boolean {
  const site = request.headers["sec-fetch-site"];
  if (site === undefined || site === "same-origin" || site === "none") return true;
  const origin = claimedOrigin(request);
  return origin !== null && allowed.has(origin);
}
