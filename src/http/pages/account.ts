import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { updateProfile, type ProfileUpdate } from "../../domain/accounts/profile.js";
import { listApiKeys, listScopes } from "../../domain/api-keys/management.js";
import { AuthError } from "../../domain/errors.js";
import { disableTotp, getMfaStatus, regenerateBackupCodes } from "../../domain/factors/management.js";
import { listPasskeys } from "../../domain/factors/passkeys/management.js";
import { hasPassword } from "../../domain/factors/password/hasher.js";
import { totpEnabled } from "../../domain/factors/totp/factor.js";
import { enableTotp, setupTotp } from "../../domain/factors/totp/enrolment.js";
import { listIdentities } from "../../domain/federation/linked-identities.js";
import { PROVIDER_LABEL } from "../../domain/federation/sign-in.js";
import { listEvents } from "../../domain/security/events.js";
import type { Authenticated } from "../../domain/sessions/authentication.js";
import { endSession, listSessions } from "../../domain/sessions/sessions.js";
import { requestContext } from "../context.js";
import type { PageDeps } from "./index.js";
import { endPageSession, LANGUAGE_COOKIE, pageCookieOptions } from "./page-session.js";
import { LOCALES, type Locale } from "./i18n.js";
import { RESUME_PATH } from "./login.js";
import { formErrorsOf, noErrors, render, statusOf, type FormErrors } from "./render.js";
import { field, pageSchema } from "./schemas.js";
import { needsStepUp, onSensitiveAction, sensitiveAction, showStepUp } from "./sensitive.js";
import { requestEmailChange } from "../../domain/accounts/email-change.js";
import { DEFAULT_EXPIRY, EXPIRY_CHOICES } from "./api-keys.js";

export const ACCOUNT = "/account";
const EVENTS_SHOWN = 20;

/** Which account form an error belongs to, so it is shown there and nowhere else. */
export type Section =
  "profile" | "email" | "password" | "totp-disable" | "backup-codes" | "passkeys" | "identities" | "api-keys";

/** A page that needs a signed-in user sends anyone else through the resume step (or on to sign-in). */
export function signedInUser(request: FastifyRequest, reply: FastifyReply): Authenticated | null {
  if (request.page.user) return request.page.user;
  void reply.redirect(`${RESUME_PATH}?redirect_to=${encodeURIComponent(ACCOUNT)}`, 303);
  return null;
}

/** "Chrome on Linux"-like, from a user agent: enough to recognise a device, never the raw string. */
export function describeDevice(userAgent: string | null): string | null {
  if (!userAgent) return null;
  const browser = /Edg\//.test(userAgent)
    ? "Edge"
    : /Firefox\//.test(userAgent)
      ? "Firefox"
      : /Chrom(e|ium)\//.test(userAgent)
        ? "Chrome"
        : /Safari\//.test(userAgent)
          ? "Safari"
          : /^curl\//.test(userAgent)
            ? "curl"
            : null;
  const os = /Android/.test(userAgent)
    ? "Android"
    : /iPhone|iPad/.test(userAgent)
      ? "iOS"
      : /Windows/.test(userAgent)
        ? "Windows"
        : /Mac OS X|Macintosh/.test(userAgent)
          ? "macOS"
          : /Linux|X11/.test(userAgent)
            ? "Linux"
            : null;
  if (browser && os) return `${browser}, ${os}`;
  return browser ?? os ?? userAgent.slice(0, 40);
}

const formatDate = (iso: string, locale: Locale, timeZone: string | null) => {
  try {
    return new Intl.DateTimeFormat(locale === "ro" ? "ro-RO" : "en-GB", {
      dateStyle: "medium",
      timeStyle: "short",
      timeZone: timeZone ?? "UTC",
    }).format(new Date(iso));
  } catch {
    return iso;
  }
};

/** A form's failure on the account page: its problems, shown next to that form and in the summary. */
export interface FailedForm {
  section: Section;
  errors: FormErrors;
  values?: Record<string, string>;
}

/** The whole account page; `failed` puts a failed form's problems next to it. */
export async function showAccount(
  deps: PageDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  auth: Authenticated,
  failed?: FailedForm,
  status = 200,
  view: { verificationToken?: string; notice?: string } = {},
) {
  const { locale, t } = request.page;
  const user = auth.user;
  const [mfa, sessions, events, passkeys, identities, apiKeys] = await Promise.all([
    getMfaStatus(deps, user),
    listSessions(deps, auth),
    listEvents(deps, user.id, { limit: EVENTS_SHOWN }),
    listPasskeys(deps, auth),
    listIdentities(deps, user.id),
    listApiKeys(deps, user),
  ]);
  const date = (value: Date | string | null) =>
    value === null ? null : formatDate(typeof value === "string" ? value : value.toISOString(), locale, user.timezone);
  const emptyErrors = noErrors();
  const errorsFor = (section: Section) => (failed?.section === section ? failed.errors : emptyErrors);
  return render(
    request,
    reply,
    "account",
    {
      title: t.account,
      wide: true,
      profile: {
        email: user.email,
        firstName: failed?.section === "profile" ? (failed.values?.firstName ?? "") : (user.firstName ?? ""),
        lastName: failed?.section === "profile" ? (failed.values?.lastName ?? "") : (user.lastName ?? ""),
        locale: locale,
        hasPassword: hasPassword(user),
      },
      verificationToken: view.verificationToken ?? "",
      ...(view.notice ? { notice: view.notice } : {}),
      localeNames: { en: "English", ro: "Română" },
      mfa,
      sessions: sessions.map((s) => ({
        id: s.id,
        current: s.current,
        device: describeDevice(s.userAgent) ?? t.unknownDevice,
        ip: s.ip ?? "",
        createdAt: date(s.createdAt),
        lastUsedAt: date(s.lastUsedAt),
      })),
      passkeys: passkeys.map((p) => ({
        id: p.id,
        name: p.name,
        createdAt: date(p.createdAt),
        lastUsedAt: date(p.lastUsedAt),
      })),
      passkeyName: failed?.section === "passkeys" ? (failed.values?.name ?? "") : "",
      // Revoked keys are gone for the user; expired ones stay listed, marked, until revoked.
      apiKeys: apiKeys
        .filter((k) => k.revokedAt === null)
        .map((k) => ({
          id: k.id,
          name: k.name,
          tokenPrefix: k.tokenPrefix,
          scopes: k.scopes.join(", "),
          createdAt: date(k.createdAt),
          lastUsedAt: date(k.lastUsedAt),
          expiresAt: date(k.expiresAt),
          expired: k.expiresAt !== null && new Date(k.expiresAt) <= deps.clock.now(),
        })),
      apiKeyScopes: listScopes(deps, user),
      apiKeyForm: {
        name: failed?.section === "api-keys" ? (failed.values?.name ?? "") : "",
        scopes: failed?.section === "api-keys" ? (failed.values?.scopes ?? "").split(" ").filter(Boolean) : [],
        expires: (failed?.section === "api-keys" && failed.values?.expires) || DEFAULT_EXPIRY,
      },
      apiKeyExpiryChoices: EXPIRY_CHOICES,
      emailForm: failed?.section === "email" ? (failed.values?.email ?? "") : "",
      identities: identities.data.map((i) => ({
        id: i.id,
        provider: PROVIDER_LABEL[i.provider],
        email: i.email ?? "",
        createdAt: date(i.createdAt),
        lastUsedAt: date(i.lastUsedAt),
      })),
      events: events.data.map((e) => ({
        what: t.events[e.type] ?? e.type,
        when: date(e.createdAt),
        ip: e.ip ?? "",
        device: describeDevice(e.userAgent) ?? "",
      })),
      errorsFor: {
        profile: errorsFor("profile"),
        email: errorsFor("email"),
        password: errorsFor("password"),
        totpDisable: errorsFor("totp-disable"),
        backupCodes: errorsFor("backup-codes"),
        passkeys: errorsFor("passkeys"),
        identities: errorsFor("identities"),
        apiKeys: errorsFor("api-keys"),
      },
      // Anything failed on this page goes in the one summary at the top, announced on load.
      errors: failed?.errors ?? emptyErrors,
      minLength: deps.config.PASSWORD_MIN_LENGTH,
    },
    status,
  );
}

/**
 * A refusal of an account form: shown next to the form, with the API's status. Anything but a
 * domain refusal (and a rate limit or overload, which get the error page) is rethrown.
 */
export function refused(
  deps: PageDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  auth: Authenticated,
  section: Section,
  error: unknown,
  fallbackField: string,
  fieldMap: Record<string, string> = {},
  values?: Record<string, string>,
) {
  if (!(error instanceof AuthError) || error.code === "RATE_LIMITED" || error.code === "OVERLOADED") throw error;
  return showAccount(
    deps,
    request,
    reply,
    auth,
    { section, errors: formErrorsOf(error, request.page.locale, fallbackField, fieldMap), values },
    statusOf(error),
  );
}

/** /account: profile, password, two-step verification, sessions and the security log. */
export function accountPages(pages: FastifyInstance, deps: PageDeps): void {
  pages.get(
    ACCOUNT,
    { schema: pageSchema("pageAccount", "The signed-in user's account page") },
    async (request, reply) => {
      const auth = signedInUser(request, reply);
      return auth ? showAccount(deps, request, reply, auth) : reply;
    },
  );

  pages.post<{ Body: { firstName?: string; lastName?: string; locale?: string } }>(
    `${ACCOUNT}/profile`,
    {
      schema: pageSchema("pageAccountProfile", "Save the profile", {
        body: { firstName: field(100), lastName: field(100), locale: field(8) },
        example: { firstName: "Ana", lastName: "Pop", locale: "ro", _csrf: "…" },
      }),
    },
    async (request, reply) => {
      const auth = signedInUser(request, reply);
      if (!auth) return reply;
      const form = request.body ?? {};
      const update: ProfileUpdate = {
        firstName: form.firstName?.trim() || null,
        lastName: form.lastName?.trim() || null,
      };
      const locale =
        form.locale && (LOCALES as readonly string[]).includes(form.locale) ? (form.locale as Locale) : undefined;
      if (locale) update.locale = locale;
      try {
        await updateProfile(deps, auth, update, requestContext(request));
      } catch (error) {
        return refused(
          deps,
          request,
          reply,
          auth,
          "profile",
          error,
          "firstName",
          {},
          { firstName: form.firstName ?? "", lastName: form.lastName ?? "" },
        );
      }
      // The page follows the language just chosen (the switcher's cookie would otherwise win).
      if (locale) reply.setCookie(LANGUAGE_COOKIE, locale, { ...pageCookieOptions(deps.config), maxAge: 365 * 86400 });
      return reply.redirect(`${ACCOUNT}?notice=profile-saved`, 303);
    },
  );

  // A new sign-in address is a sensitive operation (through "Confirm it is you" when the session
  // is old); the link goes to the new address, so the page only says it was sent.
  sensitiveAction(pages, deps, {
    action: "email-change",
    section: "email",
    notice: "email-change-sent",
    errorField: () => "email",
    values: (pending) => ({ email: pending.target }),
    async perform(request, _reply, auth, pending, verificationToken) {
      await requestEmailChange(deps, auth, { email: pending.target, verificationToken }, requestContext(request));
      return undefined;
    },
    form: {
      path: `${ACCOUNT}/email`,
      operationId: "pageAccountEmail",
      summary: "Ask for a new sign-in address (a sensitive operation): a link goes to it",
      field: { name: "email", maxLength: 320, example: "ana.new@example.com" },
    },
  });

  // A first password (an account made through Google or Apple) is a sensitive operation: after
  // "Confirm it is you" the form comes back with the verification token, to be typed within 120 s.
  onSensitiveAction("password-set", (request, reply, auth, _pending, verificationToken) =>
    showAccount(deps, request, reply, auth, undefined, 200, {
      verificationToken,
      notice: request.page.t.choosePasswordNow,
    }),
  );

  pages.post<{ Body: { currentPassword?: string; newPassword?: string; verification_token?: string } }>(
    `${ACCOUNT}/password`,
    {
      config: { hashesPassword: true },
      schema: pageSchema("pageAccountPassword", "Change the password, or set a first one", {
        body: { currentPassword: field(4096), newPassword: field(4096), verification_token: field(256) },
        example: { currentPassword: "plum tree in winter", newPassword: "a new plum tree", _csrf: "…" },
      }),
    },
    async (request, reply) => {
      const auth = signedInUser(request, reply);
      if (!auth) return reply;
      const form = request.body ?? {};
      const isFirst = !hasPassword(auth.user);
      const errors = noErrors();
      for (const name of isFirst ? (["newPassword"] as const) : (["currentPassword", "newPassword"] as const)) {
        if (!form[name]) {
          errors.fields[name] = [request.page.t.required];
          errors.summary.push({ text: request.page.t.required, field: name });
        }
      }
      if (errors.summary.length > 0)
        return showAccount(deps, request, reply, auth, { section: "password", errors }, 400);
      try {
        await updateProfile(
          deps,
          auth,
          isFirst
            ? { newPassword: form.newPassword, verificationToken: form.verification_token || undefined }
            : { currentPassword: form.currentPassword, newPassword: form.newPassword },
          requestContext(request),
        );
      } catch (error) {
        if (isFirst && needsStepUp(error))
          return showStepUp(deps, request, reply, auth, { action: "password-set", target: "" });
        return refused(deps, request, reply, auth, "password", error, isFirst ? "newPassword" : "currentPassword", {
          password: "newPassword",
        });
      }
      return reply.redirect(`${ACCOUNT}?notice=${isFirst ? "password-set" : "password-changed"}`, 303);
    },
  );

  // ---- two-step verification: setup shows the QR code; enable shows the backup codes once.
  const showTotpSetup = async (
    request: FastifyRequest,
    reply: FastifyReply,
    auth: Authenticated,
    errors = noErrors(),
    status = 200,
  ) => {
    // A sensitive operation: a session that signed in too long ago is asked to sign in again.
    const setup = await setupTotp(deps, auth);
    return render(
      request,
      reply,
      "totp-setup",
      {
        title: request.page.t.totpSetupTitle,
        qrCode: setup.qrCode,
        // Groups of four, as authenticator apps print keys: easier to type without a slip.
        secretGroups: setup.secret.match(/.{1,4}/g) ?? [setup.secret],
        errors,
      },
      status,
    );
  };

  pages.post(
    `${ACCOUNT}/totp/setup`,
    {
      schema: pageSchema("pageTotpSetup", "Start setting up an authenticator app", {
        body: {},
        example: { _csrf: "…" },
      }),
    },
    async (request, reply) => {
      const auth = signedInUser(request, reply);
      if (!auth) return reply;
      // Already on (a second tab, a resubmitted form): the account page says so.
      if (await totpEnabled(deps, auth.user.id)) return reply.redirect(ACCOUNT, 303);
      return showTotpSetup(request, reply, auth);
    },
  );

  pages.post<{ Body: { code?: string } }>(
    `${ACCOUNT}/totp/enable`,
    {
      schema: pageSchema("pageTotpEnable", "Turn on the authenticator app with its first code", {
        body: { code: field(64) },
        example: { code: "123456", _csrf: "…" },
      }),
    },
    async (request, reply) => {
      const auth = signedInUser(request, reply);
      if (!auth) return reply;
      const { t, locale } = request.page;
      try {
        const { backupCodes } = await enableTotp(
          deps,
          auth,
          { code: request.body?.code ?? "" },
          requestContext(request),
        );
        return render(request, reply, "backup-codes", {
          title: t.backupCodesTitle,
          codes: backupCodes,
          notice: t.notices["totp-enabled"],
        });
      } catch (error) {
        const rethrown = ["MFA_ALREADY_ENABLED", "MFA_REQUIRED", "RATE_LIMITED"];
        if (!(error instanceof AuthError) || rethrown.includes(error.code)) throw error;
        // A wrong code: a new secret and QR code, since the page holds no copy of the old one.
        return showTotpSetup(request, reply, auth, formErrorsOf(error, locale, "code"), statusOf(error));
      }
    },
  );

  pages.post<{ Body: { password?: string } }>(
    `${ACCOUNT}/totp/disable`,
    {
      config: { hashesPassword: true },
      schema: pageSchema("pageTotpDisable", "Turn off two-step verification", {
        body: { password: field(4096) },
        example: { password: "plum tree in winter", _csrf: "…" },
      }),
    },
    async (request, reply) => {
      const auth = signedInUser(request, reply);
      if (!auth) return reply;
      try {
        await disableTotp(deps, auth, { password: request.body?.password ?? "" }, requestContext(request));
      } catch (error) {
        return refused(deps, request, reply, auth, "totp-disable", error, "disablePassword", {
          password: "disablePassword",
        });
      }
      return reply.redirect(`${ACCOUNT}?notice=totp-disabled`, 303);
    },
  );

  pages.post<{ Body: { password?: string } }>(
    `${ACCOUNT}/backup-codes`,
    {
      config: { hashesPassword: true },
      schema: pageSchema("pageBackupCodes", "Replace the backup codes", {
        body: { password: field(4096) },
        example: { password: "plum tree in winter", _csrf: "…" },
      }),
    },
    async (request, reply) => {
      const auth = signedInUser(request, reply);
      if (!auth) return reply;
      try {
        const { backupCodes } = await regenerateBackupCodes(
          deps,
          auth,
          request.body?.password ?? "",
          requestContext(request),
        );
        return render(request, reply, "backup-codes", { title: request.page.t.backupCodesTitle, codes: backupCodes });
      } catch (error) {
        return refused(deps, request, reply, auth, "backup-codes", error, "codesPassword", {
          password: "codesPassword",
        });
      }
    },
  );

  pages.post<{ Body: { session?: string } }>(
    `${ACCOUNT}/sessions/revoke`,
    {
      schema: pageSchema("pageRevokeSession", "Sign out one of the user's devices", {
        body: { session: field(64) },
        example: { session: "5b0c…", _csrf: "…" },
      }),
    },
    async (request, reply) => {
      const auth = signedInUser(request, reply);
      if (!auth) return reply;
      const sessionId = request.body?.session ?? "";
      try {
        await endSession(deps, auth, sessionId, requestContext(request));
      } catch (error) {
        // Already gone (revoked elsewhere, or not this user's): the list shown next is the truth.
        if (!(error instanceof AuthError) || error.code !== "NOT_FOUND") throw error;
      }
      if (sessionId !== auth.sessionId) return reply.redirect(`${ACCOUNT}?notice=session-revoked`, 303);
      // This very browser: its cookies go with it.
      endPageSession(reply, deps.config);
      return reply.redirect("/login?notice=signed-out", 303);
    },
  );
}
