import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { confirmEmail } from "../../domain/accounts/email-confirmation.js";
import { EMAIL_TOKEN_PATTERN } from "../../domain/accounts/email-tokens.js";
import { forgotPassword, resetPassword } from "../../domain/accounts/password-reset.js";
import { register } from "../../domain/accounts/registration.js";
import { AuthError, type AuthErrorCode } from "../../domain/errors.js";
import { unlockAccount } from "../../domain/sessions/login.js";
import { confirmEmailChange } from "../../domain/accounts/email-change.js";
import { requestContext } from "../context.js";
import type { PageDeps } from "./index.js";
import { startPageSession } from "./page-session.js";
import { DEFAULT_AFTER_LOGIN } from "./redirects.js";
import { formErrorsOf, noErrors, render, statusOf, type FormErrors } from "./render.js";
import { field, pageSchema } from "./schemas.js";

const TOKEN = new RegExp(EMAIL_TOKEN_PATTERN);
const isToken = (value: unknown): value is string => typeof value === "string" && TOKEN.test(value);

type RegisterForm = { email?: string; password?: string; firstName?: string; lastName?: string };

/** Errors that are about the request, not the form: the error page says them. */
const isRequestLevel = (error: AuthError) => ["RATE_LIMITED", "OVERLOADED"].includes(error.code);

/**
 * Registration, email confirmation, password reset, sign-in unlock and a new email address: the
 * pages behind the links in Warden's mails.
 */
export function publicAccountPages(pages: FastifyInstance, deps: PageDeps): void {
  const { config } = deps;

  const missing = (
    request: FastifyRequest,
    values: Record<string, string | undefined>,
    names: string[],
  ): FormErrors => {
    const errors = noErrors();
    for (const name of names) {
      if (!values[name]?.trim()) {
        errors.fields[name] = [request.page.t.required];
        errors.summary.push({ text: request.page.t.required, field: name });
      }
    }
    return errors;
  };

  const badLink = (request: FastifyRequest, reply: FastifyReply, retry: { href: string; text: string }, status = 400) =>
    render(
      request,
      reply,
      "message",
      { title: request.page.t.badLinkTitle, message: request.page.t.badLink, links: [retry] },
      status,
    );

  // ---- /register
  const showRegister = (
    request: FastifyRequest,
    reply: FastifyReply,
    values: RegisterForm,
    errors = noErrors(),
    status = 200,
  ) =>
    render(
      request,
      reply,
      "register",
      {
        title: request.page.t.registerTitle,
        values: { ...values, password: "" },
        errors,
        minLength: config.PASSWORD_MIN_LENGTH,
      },
      status,
    );

  /** A title, a sentence and the way back to sign in. */
  const messageToSignIn = (
    request: FastifyRequest,
    reply: FastifyReply,
    title: string,
    message: string,
    status: number,
  ) =>
    render(
      request,
      reply,
      "message",
      { title, message, links: [{ href: "/login", text: request.page.t.backToSignIn }] },
      status,
    );

  // ALLOW_SIGNUP=false: the page says so (403), before any form is shown or read.
  const registrationClosed = (request: FastifyRequest, reply: FastifyReply) =>
    messageToSignIn(request, reply, request.page.t.registrationClosedTitle, request.page.t.registrationClosed, 403);

  pages.get("/register", { schema: pageSchema("pageRegister", "Registration page") }, async (request, reply) =>
    config.ALLOW_SIGNUP ? showRegister(request, reply, {}) : registrationClosed(request, reply),
  );

  pages.post<{ Body: RegisterForm }>(
    "/register",
    {
      config: { rateLimit: "register", hashesPassword: true },
      schema: pageSchema("pageRegisterSubmit", "Create an account", {
        body: { email: field(320), password: field(4096), firstName: field(100), lastName: field(100) },
        example: {
          email: "ana@example.com",
          password: "plum tree in winter",
          firstName: "Ana",
          lastName: "Pop",
          _csrf: "…",
        },
      }),
    },
    async (request, reply) => {
      if (!config.ALLOW_SIGNUP) return registrationClosed(request, reply);
      const form = request.body ?? {};
      const errors = missing(request, form, ["email", "password"]);
      if (errors.summary.length > 0) return showRegister(request, reply, form, errors, 400);
      try {
        const result = await register(
          deps,
          {
            email: form.email!,
            password: form.password!,
            firstName: form.firstName?.trim() || null,
            lastName: form.lastName?.trim() || null,
            // The language the page was read in is the one the mails will speak.
            locale: request.page.locale,
          },
          requestContext(request),
        );
        if ("accessToken" in result) {
          startPageSession(reply, config, result);
          return reply.redirect(DEFAULT_AFTER_LOGIN, 303);
        }
        const { t } = request.page;
        return messageToSignIn(request, reply, t.checkEmailTitle, t.checkEmail(result.email), 201);
      } catch (error) {
        if (!(error instanceof AuthError) || isRequestLevel(error)) throw error;
        const fieldFor = error.code === "EMAIL_TAKEN" ? "email" : "password";
        return showRegister(request, reply, form, formErrorsOf(error, request.page.locale, fieldFor), statusOf(error));
      }
    },
  );

  type MessagePage = { title: string; message: string; links: Array<{ href: string; text: string }> };
  type Texts = FastifyRequest["page"]["t"];

  /**
   * The page a mailed link opens (`GET path?token=`): a button that posts the token back, never
   * an action on GET, so a mail scanner that fetches links spends nothing. The post runs `use`
   * and shows `done`; a refusal named in `refusals` gets its own message page (with the
   * refusal's status), any other the "this link does not work" page.
   */
  const mailedLinkPage = (spec: {
    path: string;
    operationId: string;
    summary: string;
    submitSummary: string;
    texts: (t: Texts) => { title: string; intro: string; button: string };
    use: (token: string, request: FastifyRequest) => Promise<unknown>;
    done: (t: Texts) => MessagePage;
    refusals?: Partial<Record<AuthErrorCode, (t: Texts) => MessagePage>>;
  }) => {
    pages.get<{ Querystring: { token?: string } }>(
      spec.path,
      { schema: pageSchema(spec.operationId, spec.summary, { query: { token: field(64) } }) },
      async (request, reply) => {
        const { t } = request.page;
        const token = request.query.token;
        if (!isToken(token)) return badLink(request, reply, { href: "/login", text: t.backToSignIn });
        return render(request, reply, "confirm", { ...spec.texts(t), action: spec.path, token });
      },
    );
    pages.post<{ Body: { token?: string } }>(
      spec.path,
      {
        config: { rateLimit: "register" },
        schema: pageSchema(`${spec.operationId}Submit`, spec.submitSummary, {
          body: { token: field(64) },
          example: { token: "Xk3…43 characters…", _csrf: "…" },
        }),
      },
      async (request, reply) => {
        const { t } = request.page;
        const token = request.body?.token;
        if (!isToken(token)) return badLink(request, reply, { href: "/login", text: t.backToSignIn });
        try {
          await spec.use(token, request);
        } catch (error) {
          if (!(error instanceof AuthError) || isRequestLevel(error)) throw error;
          const page = spec.refusals?.[error.code];
          if (page) return render(request, reply, "message", page(t), statusOf(error));
          return badLink(request, reply, { href: "/login", text: t.backToSignIn }, statusOf(error));
        }
        return render(request, reply, "message", spec.done(t));
      },
    );
  };

  // ---- /confirm-email?token=
  mailedLinkPage({
    path: "/confirm-email",
    operationId: "pageConfirmEmail",
    summary: "Email confirmation page",
    submitSummary: "Confirm an email address",
    texts: (t) => ({ title: t.confirmTitle, intro: t.confirmIntro, button: t.confirmButton }),
    use: (token, request) => confirmEmail(deps, token, requestContext(request)),
    done: (t) => ({ title: t.confirmedTitle, message: t.confirmed, links: [{ href: "/login", text: t.signIn }] }),
    refusals: {
      EMAIL_ALREADY_CONFIRMED: (t) => ({
        title: t.confirmedTitle,
        message: t.alreadyConfirmed,
        links: [{ href: "/login", text: t.signIn }],
      }),
    },
  });

  // ---- /forgot-password
  const showForgot = (request: FastifyRequest, reply: FastifyReply, email: string, errors = noErrors(), status = 200) =>
    render(request, reply, "forgot", { title: request.page.t.forgotTitle, values: { email }, errors }, status);

  pages.get(
    "/forgot-password",
    { schema: pageSchema("pageForgotPassword", "Ask for a password reset link") },
    async (request, reply) => showForgot(request, reply, ""),
  );

  pages.post<{ Body: { email?: string } }>(
    "/forgot-password",
    {
      config: { rateLimit: "password-reset" },
      schema: pageSchema("pageForgotPasswordSubmit", "Mail a password reset link", {
        body: { email: field(320) },
        example: { email: "ana@example.com", _csrf: "…" },
      }),
    },
    async (request, reply) => {
      const { t } = request.page;
      const form = request.body ?? {};
      const errors = missing(request, form, ["email"]);
      if (errors.summary.length > 0) return showForgot(request, reply, "", errors, 400);
      try {
        await forgotPassword(deps, form.email!, requestContext(request));
      } catch (error) {
        if (!(error instanceof AuthError) || isRequestLevel(error)) throw error;
        return showForgot(
          request,
          reply,
          form.email!,
          formErrorsOf(error, request.page.locale, "email"),
          statusOf(error),
        );
      }
      return messageToSignIn(request, reply, t.forgotTitle, t.forgotSent, 200);
    },
  );

  // ---- /reset-password?token=
  const showReset = (request: FastifyRequest, reply: FastifyReply, token: string, errors = noErrors(), status = 200) =>
    render(
      request,
      reply,
      "reset",
      { title: request.page.t.resetTitle, token, errors, minLength: config.PASSWORD_MIN_LENGTH },
      status,
    );

  pages.get<{ Querystring: { token?: string } }>(
    "/reset-password",
    { schema: pageSchema("pageResetPassword", "Choose a new password", { query: { token: field(64) } }) },
    async (request, reply) => {
      const { t } = request.page;
      if (!isToken(request.query.token))
        return badLink(request, reply, { href: "/forgot-password", text: t.requestNewLink });
      return showReset(request, reply, request.query.token);
    },
  );

  pages.post<{ Body: { token?: string; password?: string } }>(
    "/reset-password",
    {
      config: { rateLimit: "password-reset", hashesPassword: true },
      schema: pageSchema("pageResetPasswordSubmit", "Set a new password with the token from the mail", {
        body: { token: field(64), password: field(4096) },
        example: { token: "Xk3…43 characters…", password: "a new plum tree", _csrf: "…" },
      }),
    },
    async (request, reply) => {
      const { t } = request.page;
      const form = request.body ?? {};
      if (!isToken(form.token)) return badLink(request, reply, { href: "/forgot-password", text: t.requestNewLink });
      const errors = missing(request, form, ["password"]);
      if (errors.summary.length > 0) return showReset(request, reply, form.token, errors, 400);
      try {
        await resetPassword(deps, { token: form.token, password: form.password! }, requestContext(request));
      } catch (error) {
        if (!(error instanceof AuthError) || isRequestLevel(error)) throw error;
        if (error.code === "EMAIL_TOKEN_INVALID") {
          return badLink(request, reply, { href: "/forgot-password", text: t.requestNewLink }, statusOf(error));
        }
        return showReset(
          request,
          reply,
          form.token,
          formErrorsOf(error, request.page.locale, "password"),
          statusOf(error),
        );
      }
      return render(request, reply, "message", {
        title: t.resetTitle,
        message: t.resetDone,
        links: [{ href: "/login", text: t.signIn }],
      });
    },
  );

  // ---- /unlock-account?token=: the link mailed to an owner whose account the failure budget
  // throttles. The post makes this browser a known device of the owner (its device cookie), so
  // its later sign-ins pass while the account stays throttled for everyone else.
  mailedLinkPage({
    path: "/unlock-account",
    operationId: "pageUnlockAccount",
    summary: "Sign-in unlock page",
    submitSummary: "Lift the account's sign-in throttle with the mailed token",
    texts: (t) => ({ title: t.unlockTitle, intro: t.unlockIntro, button: t.unlockButton }),
    use: (token, request) => unlockAccount(deps, token, requestContext(request)),
    done: (t) => ({ title: t.unlockedTitle, message: t.unlocked, links: [{ href: "/login", text: t.signIn }] }),
  });

  // ---- /confirm-email-change?token=: the link mailed to the new address of a signed-in user.
  mailedLinkPage({
    path: "/confirm-email-change",
    operationId: "pageConfirmEmailChange",
    summary: "New email address confirmation page",
    submitSummary: "Make the new address the account's",
    texts: (t) => ({ title: t.emailChangeTitle, intro: t.emailChangeIntro, button: t.emailChangeButton }),
    use: (token, request) => confirmEmailChange(deps, token, requestContext(request)),
    done: (t) => ({
      title: t.emailChangedTitle,
      message: t.emailChanged,
      links: [{ href: "/account", text: t.account }],
    }),
    refusals: {
      EMAIL_TAKEN: (t) => ({
        title: t.errorTitle,
        message: t.emailChangeTaken,
        links: [{ href: "/account", text: t.account }],
      }),
    },
  });
}
