import path from "node:path";
import { CODE_ROOT, PROJECT_ROOT } from "../../paths.js";
import csrfProtection from "@fastify/csrf-protection";
import formbody from "@fastify/formbody";
import fastifyStatic from "@fastify/static";
import view from "@fastify/view";
import { Eta } from "eta";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "../../config.js";
import type { DomainDeps } from "../../domain/context.js";
import type { CounterStore } from "../../domain/security/ports.js";
import { AuthError } from "../../domain/errors.js";
import { answerNotFound, HttpProblem, UNAVAILABLE_RETRY_AFTER_SECONDS } from "../errors.js";
import { isStoreUnavailable } from "../../storage/faults.js";
import { assertAllowedOrigin, INVALID_ORIGIN } from "../plugins/origins.js";
import type { ApiKeyDeps } from "../../domain/api-keys/context.js";
import { accountPages } from "./account.js";
import { apiKeyPages } from "./api-keys.js";
import { sensitivePages } from "./sensitive.js";
import { errorText, MESSAGES, pickLocale } from "./i18n.js";
import { loginPages } from "./login.js";
import { LANGUAGE_COOKIE, pageCookieOptions, pageUser } from "./page-session.js";
import { publicAccountPages } from "./public-account.js";
import { render, statusOf } from "./render.js";

const here = path.join(CODE_ROOT, "http/pages");
const VIEWS = path.join(here, "views");
const ASSETS = path.join(here, "assets");
/** The browser SDK, built by scripts/build.mjs: the page script imports its WebAuthn helpers. */
const SDK = path.join(PROJECT_ROOT, "sdk/dist");

export interface PageDeps extends DomainDeps, Omit<ApiKeyDeps, "config"> {
  config: Config;
  /** Spends a Google/Apple sign-in's state once (an atomic increment). */
  counters: CounterStore;
}

/**
 * The pages' Content-Security-Policy: nothing inline, nothing from elsewhere. Images may be
 * data: URLs (the TOTP QR code). Forms may land on the listed apps, because a sign-in form's
 * redirect to `redirect_to` counts as the form's destination.
 */
export function contentSecurityPolicy(config: Pick<Config, "CORS_ORIGINS">): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    `form-action 'self'${config.CORS_ORIGINS.map((o) => ` ${o}`).join("")}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
  ].join("; ");
}

/** The hosted pages at PUBLIC_URL: /login, /register, /confirm-email, /forgot-password, /reset-password, /unlock-account, /account, /logout. */
export async function installPages(app: FastifyInstance, deps: PageDeps): Promise<void> {
  const { config } = deps;
  app.decorate("pageBrand", { productName: config.PRODUCT_NAME });

  // The stylesheet and icon: long-cached, no cookies read, none of the pages' hooks.
  await app.register(async (assets) => {
    await assets.register(fastifyStatic, {
      root: ASSETS,
      prefix: "/assets/",
      decorateReply: false,
      maxAge: "1h",
      index: false,
      list: false,
      schemaHide: true,
    });
    await assets.register(fastifyStatic, {
      root: SDK,
      prefix: "/assets/sdk/",
      decorateReply: false,
      maxAge: "1h",
      index: false,
      list: false,
      schemaHide: true,
      allowedPath: (pathName) => /^\/[a-z-]+\.js$/.test(pathName),
    });
  });

  await app.register(async (pages) => {
    // Form posts are parsed here only: the JSON API keeps refusing any other content type.
    await pages.register(formbody, { bodyLimit: 16 * 1024 });
    await pages.register(view, {
      engine: { eta: new Eta({ autoEscape: true }) },
      root: VIEWS,
      production: true,
      viewExt: "eta",
    });
    await pages.register(csrfProtection, {
      sessionPlugin: "@fastify/cookie",
      cookieKey: "warden_csrf",
      cookieOpts: pageCookieOptions(config),
      getToken: (request: FastifyRequest) => (request.body as { _csrf?: string } | undefined)?._csrf,
    });

    const ownOrigin = new Set([new URL(config.PUBLIC_URL).origin]);
    const csp = contentSecurityPolicy(config);

    pages.decorateRequest("page", null as never);
    pages.addHook("preHandler", async (request, reply) => {
      if (request.is404 && !wantsPage(request)) return; // the API's JSON 404: no page, no user
      const choice = (request.query as { lang?: unknown } | undefined)?.lang;
      if (typeof choice === "string" && MESSAGES[choice as "en"]) {
        reply.setCookie(LANGUAGE_COOKIE, choice, { ...pageCookieOptions(config), maxAge: 365 * 86400 });
      }
      const user = await pageUser(deps, request);
      const locale = pickLocale(
        typeof choice === "string" ? choice : request.cookies[LANGUAGE_COOKIE],
        user?.user.locale,
        request.headers["accept-language"],
      );
      request.page = { locale, t: MESSAGES[locale], user };
    });
    // CSRF: every form post must come from Warden's own pages (Origin, else Referer) and carry
    // the token of the form it was rendered with (double submit against the warden_csrf cookie).
    pages.addHook("preHandler", function (request, reply, done) {
      if (request.method !== "POST" || request.is404 || request.routeOptions.config.crossSiteForm) return done();
      try {
        assertAllowedOrigin(request, ownOrigin);
      } catch (error) {
        return done(error as Error);
      }
      pages.csrfProtection(request, reply, done);
    });
    pages.addHook("onSend", async (_request, reply, payload) => {
      reply.header("content-security-policy", csp);
      reply.header("x-frame-options", "DENY");
      reply.header("x-content-type-options", "nosniff");
      // Reset links carry their token in the URL: no other site ever sees a path of these pages.
      reply.header("referrer-policy", "same-origin");
      return payload;
    });
    pages.setErrorHandler((error: FastifyError, request, reply) => renderError(error, request, reply));
    // Every unknown URL of the app lands here (Fastify allows one not-found handler per prefix):
    // a browser opening a page that does not exist gets a page; everything else the API's JSON.
    pages.setNotFoundHandler((request, reply) => {
      if (!wantsPage(request)) return answerNotFound(request, reply);
      const { t } = request.page;
      return render(request, reply, "error", { title: t.notFoundTitle, message: t.notFound }, 404);
    });

    loginPages(pages, deps);
    publicAccountPages(pages, deps);
    accountPages(pages, deps);
    apiKeyPages(pages, deps);
    sensitivePages(pages, deps);
  });
}

/** A browser's navigation to a URL outside the API's paths. */
function wantsPage(request: FastifyRequest): boolean {
  return (
    (request.method === "GET" || request.method === "HEAD") &&
    !/^\/(api|\.well-known)\//.test(request.url) &&
    (request.headers.accept ?? "").includes("text/html")
  );
}

async function renderError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  // A hook that failed before the page context existed (rate limit, shedding): build it now.
  request.page ??= {
    locale: pickLocale(undefined, null, request.headers["accept-language"]),
    t: MESSAGES.en,
    user: null,
  };
  request.page.t = MESSAGES[request.page.locale];
  const { t, locale } = request.page;
  let status = 400;
  let message = t.tryAgain;
  if (error instanceof AuthError) {
    status = statusOf(error);
    // A sensitive change in a session that signed in too long ago: pages have no step-up, only a new sign-in.
    message = error.code === "MFA_REQUIRED" ? t.reauth : errorText(error.code, locale);
    if (error.details.retryAfterSeconds !== undefined)
      reply.header("retry-after", String(error.details.retryAfterSeconds));
  } else if (error instanceof HttpProblem) {
    status = error.status;
    message = error.message === INVALID_ORIGIN ? t.invalidOrigin : error.message;
  } else if (error.code === "FST_CSRF_INVALID_TOKEN" || error.code === "FST_CSRF_MISSING_SECRET") {
    status = 403;
    message = t.formExpired;
  } else if (isStoreUnavailable(error)) {
    // The database or Redis is away, as the API answers it (http/errors.ts): try again shortly.
    request.log.warn({ err: error }, "store unavailable: answered 503");
    reply.header("retry-after", String(UNAVAILABLE_RETRY_AFTER_SECONDS));
    status = 503;
    message = t.unavailable;
  } else if (!(error.validation || (error.statusCode !== undefined && error.statusCode < 500))) {
    request.log.error({ err: error }, "unhandled error on a page");
    status = 500;
  }
  const title = status === 429 ? t.tooManyTitle : status === 503 ? t.unavailableTitle : t.errorTitle;
  return render(request, reply, "error", { title, message }, status);
}
