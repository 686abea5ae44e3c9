import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { TokenPair } from "../../domain/context.js";
import { AuthError, type AuthErrorCode } from "../../domain/errors.js";
import { resendConfirmation } from "../../domain/accounts/email-confirmation.js";
import type { MfaMethod } from "../../domain/factors/challenges.js";
import { sendLoginEmailOtp } from "../../domain/factors/email-otp/email-otp.js";
import { mfaPasskeyOptions, verifyMfaChallenge } from "../../domain/factors/verify.js";
import { login, needsSecondFactor, type LoginResult } from "../../domain/sessions/login.js";
import { refreshSession } from "../../domain/sessions/refresh-tokens.js";
import { logout, logoutSession } from "../../domain/sessions/sessions.js";
import { requestContext } from "../context.js";
import { allowedOrigins, claimedOrigin } from "../plugins/origins.js";
import type { PageDeps } from "./index.js";
import { endPageSession, startPageSession } from "./page-session.js";
import { DEFAULT_AFTER_LOGIN, safeLocalPath, safeRedirect } from "./redirects.js";
import { federationPages } from "./federation.js";
import { passkeyPages } from "./passkeys.js";
import { formErrorsOf, optionsAttribute, noErrors, render, statusOf, type FormErrors } from "./render.js";
import { fieldOf, parseCredential } from "./sensitive.js";
import { field, pageSchema, redirectQuery } from "./schemas.js";

type LoginForm = { email?: string; password?: string; redirect_to?: string };
type MfaForm = {
  mfa_token?: string;
  methods?: string;
  type?: string;
  code?: string;
  credential?: string;
  redirect_to?: string;
};

const METHODS: readonly MfaMethod[] = ["passkey", "totp", "backup_code", "email_otp"];
/** Refusals of one answer that leave the challenge open for another try (any method). */
const WRONG_ANSWER = new Set<AuthErrorCode>([
  "MFA_CODE_INVALID",
  "MFA_CODE_MISSING",
  "MFA_CREDENTIAL_MISSING",
  "PASSKEY_ASSERTION_FAILED",
  "PASSKEY_CHALLENGE_INVALID",
  "PASSKEY_RESPONSE_INVALID",
  "PASSKEY_NONE_AVAILABLE",
  "EMAIL_OTP_UNAVAILABLE",
  "EMAIL_OTP_TOO_SOON",
  "EMAIL_OTP_SEND_LIMIT",
]);

/** Page helpers that need the refresh cookie, so they live under its Path (/api/auth). */
export const RESUME_PATH = "/api/auth/page/resume";
export const LOGOUT_PATH = "/api/auth/page/logout";

/**
 * Sign-in methods beside the password on the login page: a passkey always (the page script shows
 * its button only where the browser can use one), Google and Apple when their client ids are set.
 */
export function signInAlternatives(config: Pick<PageDeps["config"], "GOOGLE_CLIENT_IDS" | "APPLE_CLIENT_IDS">): {
  passkeys: boolean;
  google: boolean;
  apple: boolean;
} {
  return { passkeys: true, google: config.GOOGLE_CLIENT_IDS.length > 0, apple: config.APPLE_CLIENT_IDS.length > 0 };
}

export function loginPages(pages: FastifyInstance, deps: PageDeps): void {
  const { config } = deps;
  const allowed = allowedOrigins(config);
  const target = (value: unknown) => safeRedirect(value, config.PUBLIC_URL, allowed);

  /** The second step as its hidden fields carry it. */
  const stepOf = (form: MfaForm) => {
    const methods = (form.methods ?? "").split(",").filter((m): m is MfaMethod => METHODS.includes(m as MfaMethod));
    return {
      mfa_token: form.mfa_token ?? "",
      methods: methods.length ? methods : ["totp" as const],
      redirect_to: target(form.redirect_to) ?? "",
    };
  };

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
        alternatives: signInAlternatives(config),
        redirectParam: encodeURIComponent(target(values.redirect_to) ?? ""),
        allowSignup: config.ALLOW_SIGNUP,
        ...extra,
      },
      status,
    );

  const showMfa = async (
    request: FastifyRequest,
    reply: FastifyReply,
    form: { mfa_token: string; methods: MfaMethod[]; redirect_to: string },
    errors: FormErrors = noErrors(),
    status = 200,
    openMethod?: MfaMethod,
    notice?: string,
  ) => {
    // The passkey answer's options, made now for this challenge (it lives as long as they do).
    let passkeyOptions: string | null = null;
    if (form.methods.includes("passkey")) {
      try {
        passkeyOptions = optionsAttribute(await mfaPasskeyOptions(deps, { mfaToken: form.mfa_token }));
      } catch (error) {
        if (!(error instanceof AuthError)) throw error;
      }
    }
    return render(
      request,
      reply,
      "mfa",
      {
        title: request.page.t.mfaTitle,
        form,
        errors,
        passkeyOptions,
        openMethod: openMethod ?? form.methods.find((m) => m === "totp" || m === "backup_code") ?? form.methods[0],
        ...(notice ? { notice } : {}),
      },
      status,
    );
  };

  /** After both steps: the cookies, then wherever the sign-in was for. */
  const signedIn = (reply: FastifyReply, tokens: TokenPair, redirectTo: unknown) => {
    startPageSession(reply, config, tokens);
    return reply.redirect(target(redirectTo) ?? DEFAULT_AFTER_LOGIN, 303);
  };

  /** A first step's result: signed in, or the second step. */
  const afterFirstStep = (request: FastifyRequest, reply: FastifyReply, result: LoginResult, redirectTo: unknown) =>
    needsSecondFactor(result)
      ? showMfa(request, reply, {
          mfa_token: result.challengeToken,
          methods: result.methods,
          redirect_to: target(redirectTo) ?? "",
        })
      : signedIn(reply, result, redirectTo);

  /** The sign-in page again, the refusal in the summary and next to `field` (the passkey button, a provider). */
  const refusedLogin = (
    request: FastifyRequest,
    reply: FastifyReply,
    problem: AuthError | string,
    redirectTo: unknown,
    field = "passkey",
  ) => {
    if (typeof problem !== "string")
      return showLogin(
        request,
        reply,
        { redirect_to: redirectTo as string },
        formErrorsOf(problem, request.page.locale, field),
        statusOf(problem),
      );
    const errors: FormErrors = { fields: { [field]: [problem] }, summary: [{ text: problem, field }] };
    return showLogin(request, reply, { redirect_to: redirectTo as string }, errors, 400);
  };

  /**
   * A sign-in the account budget refused (wrong passwords or codes from anywhere): the form
   * again, not an error page, with the refusal (the password or code was not judged, so no field
   * is at fault) and the ways back in, said alike whether the account exists.
   */
  const throttledLogin = (request: FastifyRequest, reply: FastifyReply, values: LoginForm, error: AuthError) => {
    if (error.details.retryAfterSeconds !== undefined)
      reply.header("retry-after", String(error.details.retryAfterSeconds));
    const errors = formErrorsOf(error, request.page.locale);
    errors.summary.push({ text: request.page.t.throttledHelp });
    return showLogin(request, reply, values, errors, statusOf(error));
  };

  // Warden's own address opened in a browser: the sign-in page, which goes on to the account
  // page for someone already signed in.
  pages.get(
    "/",
    { schema: pageSchema("pageRoot", "Warden's address: on to the sign-in page") },
    async (_request, reply) => reply.redirect("/login", 303),
  );

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
        return afterFirstStep(request, reply, result, form.redirect_to);
      } catch (error) {
        if (!(error instanceof AuthError)) throw error;
        if (["RATE_LIMITED", "OVERLOADED"].includes(error.code)) throw error;
        if (error.code === "ACCOUNT_THROTTLED") return throttledLogin(request, reply, form, error);
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
          credential: field(8192),
          redirect_to: field(2048),
        },
        example: { mfa_token: "…", methods: "totp,backup_code", type: "totp", code: "123456", _csrf: "…" },
      }),
    },
    async (request, reply) => {
      const { locale } = request.page;
      const form = request.body ?? {};
      const type: MfaMethod = METHODS.find((m) => m === form.type) ?? "totp";
      const step = stepOf(form);
      try {
        const tokens = await verifyMfaChallenge(
          deps,
          { mfaToken: form.mfa_token, code: form.code, type, credential: parseCredential(form.credential) },
          requestContext(request),
        );
        return signedIn(reply, tokens, form.redirect_to);
      } catch (error) {
        if (!(error instanceof AuthError)) throw error;
        if (WRONG_ANSWER.has(error.code)) {
          return showMfa(request, reply, step, formErrorsOf(error, locale, fieldOf(type)), statusOf(error), type);
        }
        if (error.code === "RATE_LIMITED" || error.code === "OVERLOADED") throw error;
        if (error.code === "ACCOUNT_THROTTLED")
          return throttledLogin(request, reply, { redirect_to: form.redirect_to }, error);
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

  pages.post<{ Body: MfaForm }>(
    "/login/mfa/email-code",
    {
      config: { rateLimit: "mfa" },
      schema: pageSchema("pageLoginMfaEmailCode", "Mail a code that answers the second step", {
        body: { mfa_token: field(256), methods: field(128), redirect_to: field(2048) },
        example: { mfa_token: "…", methods: "totp,email_otp", _csrf: "…" },
      }),
    },
    async (request, reply) => {
      const form = request.body ?? {};
      const step = stepOf(form);
      try {
        await sendLoginEmailOtp(deps, { mfaToken: form.mfa_token }, requestContext(request));
      } catch (error) {
        if (!(error instanceof AuthError)) throw error;
        if (!WRONG_ANSWER.has(error.code)) {
          if (error.code === "RATE_LIMITED" || error.code === "OVERLOADED") throw error;
          return showLogin(
            request,
            reply,
            { redirect_to: form.redirect_to },
            formErrorsOf(error, request.page.locale),
            statusOf(error),
          );
        }
        return showMfa(
          request,
          reply,
          step,
          formErrorsOf(error, request.page.locale, "email_otp"),
          statusOf(error),
          "email_otp",
        );
      }
      return showMfa(request, reply, step, noErrors(), 200, "email_otp", request.page.t.emailCodeSent);
    },
  );

  passkeyPages(pages, deps, { signedIn, refusedLogin });
  federationPages(pages, deps, { afterFirstStep, refusedLogin });

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
