import type { FastifyReply, FastifyRequest } from "fastify";
import type { Authenticated } from "../../domain/sessions/authentication.js";
import { AuthError } from "../../domain/errors.js";
import { STATUS } from "../errors.js";
import { errorText, fieldText, LOCALES, MESSAGES, type Locale, type Messages } from "./i18n.js";

/** What every page handler knows about its request: set by the pages' preHandler. */
export interface PageContext {
  locale: Locale;
  t: Messages;
  user: Authenticated | null;
}

declare module "fastify" {
  interface FastifyRequest {
    page: PageContext;
  }
}

/** Problems with a form: per field (shown next to it) and for the summary at the top. */
export interface FormErrors {
  fields: Record<string, string[]>;
  summary: Array<{ text: string; field?: string }>;
}

export const noErrors = (): FormErrors => ({ fields: {}, summary: [] });

/**
 * A domain refusal as form errors: field sentences next to their fields (and linked from the
 * summary), otherwise the refusal's own sentence in the summary, attached to `fallbackField`.
 */
export function formErrorsOf(
  error: AuthError,
  locale: Locale,
  fallbackField?: string,
  fieldMap: Record<string, string> = {},
): FormErrors {
  const result = noErrors();
  const perField = error.details.errors ?? {};
  for (const [apiField, sentences] of Object.entries(perField)) {
    const field = fieldMap[apiField] ?? apiField;
    const texts = sentences.map((s) => fieldText(s, locale));
    result.fields[field] = texts;
    for (const text of texts) result.summary.push({ text, field });
  }
  if (result.summary.length === 0) {
    const text = errorText(error.code, locale);
    result.summary.push({ text, field: fallbackField });
    if (fallbackField) result.fields[fallbackField] = [text];
  }
  return result;
}

/** The status a refusal would have had on the API, so a page answers the same code. */
export const statusOf = (error: AuthError): number => STATUS[error.code];

export interface ViewData {
  title: string;
  [key: string]: unknown;
}

/** Renders `view` inside the layout with what every page needs (language, texts, CSRF token, user). */
export async function render(
  request: FastifyRequest,
  reply: FastifyReply,
  view: string,
  data: ViewData,
  status = 200,
): Promise<FastifyReply> {
  const { locale, t, user } = request.page;
  const notice =
    typeof (request.query as { notice?: unknown })?.notice === "string"
      ? (request.query as { notice: string }).notice
      : undefined;
  return reply
    .code(status)
    .type("text/html; charset=utf-8")
    .view(view, {
      errors: noErrors(),
      values: {},
      notice: notice ? t.notices[notice] : undefined,
      ...data,
      lang: locale,
      locales: LOCALES,
      t,
      product: reply.server.pageBrand.productName,
      user: user ? { email: user.user.email } : null,
      csrf: reply.generateCsrf(),
      languageLinks: languageLinks(request, locale),
    });
}

declare module "fastify" {
  interface FastifyInstance {
    pageBrand: { productName: string };
  }
}

/** The switcher's links: this page in each language, its other query parameters kept (a reset token, say). */
function languageLinks(request: FastifyRequest, current: Locale) {
  const [requested, query = ""] = request.url.split("?");
  const path = request.method === "GET" ? requested! : pageOfForm(requested!);
  return LOCALES.map((locale) => {
    const params = new URLSearchParams(request.method === "GET" ? query : "");
    params.delete("notice");
    params.set("lang", locale);
    return { locale, name: LANGUAGE_NAMES[locale], href: `${path}?${params.toString()}`, current: locale === current };
  });
}

export const LANGUAGE_NAMES: Record<Locale, string> = { en: "English", ro: "Română" };

/** The page a form was on, for links from the page a form post answers with. */
function pageOfForm(path: string): string {
  if (path.startsWith("/account")) return "/account";
  if (path === "/login/mfa" || path === "/confirm-email/resend" || path.startsWith("/api/auth/")) return "/login";
  return path;
}

/** WebAuthn options for the page script, in a `data-options` attribute (the template escapes it). */
export const optionsAttribute = (value: unknown): string => JSON.stringify(value);
