import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  createApiKey,
  NAME_MAX_LENGTH,
  revokeApiKey,
  rotateApiKey,
  type ApiKeyView,
} from "../../domain/api-keys/management.js";
import { AuthError } from "../../domain/errors.js";
import type { Authenticated } from "../../domain/sessions/authentication.js";
import { requireRecentAuthentication } from "../../domain/sessions/step-up.js";
import { requestContext } from "../context.js";
import { ACCOUNT, refused, showAccount, signedInUser } from "./account.js";
import { errorText } from "./i18n.js";
import type { PageDeps } from "./index.js";
import { noErrors, render } from "./render.js";
import { field, pageSchema } from "./schemas.js";
import { sensitiveAction, TARGET_MAX } from "./sensitive.js";

/** The ids of the new-key form's fields, where their problems are shown. */
export const NAME_FIELD = "apiKeyName";
export const SCOPES_FIELD = "apiKeyScopes";

/** The new-key form's expiry choices: days from its creation, or never (the API's default). */
export const EXPIRY_CHOICES = ["30", "90", "365", "never"] as const;
type ExpiryChoice = (typeof EXPIRY_CHOICES)[number];
/** What the form offers checked: a key that nobody revokes still ends. */
export const DEFAULT_EXPIRY: ExpiryChoice = "90";

/** What the new-key form asked for, carried through "Confirm it is you" as the pending target. */
interface NewKeyForm {
  name: string;
  scopes: string[];
  expires: ExpiryChoice;
}

const asExpiry = (value: unknown): ExpiryChoice =>
  EXPIRY_CHOICES.includes(value as ExpiryChoice) ? (value as ExpiryChoice) : "never";

const asList = (value: unknown): string[] =>
  (Array.isArray(value) ? value : value === undefined ? [] : [value]).filter(
    (v): v is string => typeof v === "string" && v !== "",
  );

function parseTarget(target: string): NewKeyForm {
  try {
    const parsed = JSON.parse(target) as { name?: unknown; scopes?: unknown; expires?: unknown };
    return {
      name: typeof parsed.name === "string" ? parsed.name : "",
      scopes: asList(parsed.scopes),
      expires: asExpiry(parsed.expires),
    };
  } catch {
    return { name: "", scopes: [], expires: "never" };
  }
}

/** The form's values for the account page, so a refused form comes back as it was filled in. */
const valuesOf = (form: NewKeyForm) => ({ name: form.name, scopes: form.scopes.join(" "), expires: form.expires });

/** The expiry the API is given, counted from when the key is made (after any "Confirm it is you"). */
const expiresAt = (choice: ExpiryChoice, now: Date): string | null =>
  choice === "never" ? null : new Date(now.getTime() + Number(choice) * 86_400_000).toISOString();

/**
 * API keys on /account: the list, a new key with an expiry (a sensitive operation, through the
 * same "Confirm it is you" as a new passkey) shown once, replacing a key (rotation: sensitive too,
 * after a confirmation page) and revoking after a confirmation page. The rules are the API's
 * (domain/api-keys): names, the scope catalogue, who may grant what.
 */
export function apiKeyPages(pages: FastifyInstance, deps: PageDeps): void {
  const refusedKey = (
    request: FastifyRequest,
    reply: FastifyReply,
    auth: Authenticated,
    error: unknown,
    form: NewKeyForm,
  ) => {
    const scopeError = error instanceof AuthError && error.code.startsWith("API_KEY_SCOPE") ? SCOPES_FIELD : NAME_FIELD;
    return refused(deps, request, reply, auth, "api-keys", error, scopeError, {}, valuesOf(form));
  };

  const createKey = sensitiveAction(pages, deps, {
    action: "api-key-create",
    section: "api-keys",
    notice: "api-key-created",
    errorField: () => NAME_FIELD,
    async perform(request, reply, auth, pending, verificationToken) {
      await requireRecentAuthentication(deps, auth, { verificationToken });
      const form = parseTarget(pending.target);
      let created;
      try {
        const input = { name: form.name, scopes: form.scopes, expiresAt: expiresAt(form.expires, deps.clock.now()) };
        created = await createApiKey(deps, auth.user, input, requestContext(request));
      } catch (error) {
        return refusedKey(request, reply, auth, error, form);
      }
      return showKeyOnce(request, reply, created, "api-key-created");
    },
  });

  const rotateKey = sensitiveAction(pages, deps, {
    action: "api-key-rotate",
    section: "api-keys",
    notice: "api-key-rotated",
    errorField: (pending) => `rotate-${pending.target}`,
    async perform(request, reply, auth, pending, verificationToken) {
      await requireRecentAuthentication(deps, auth, { verificationToken });
      const rotated = await rotateApiKey(deps, auth.user, pending.target, requestContext(request));
      return showKeyOnce(request, reply, rotated, "api-key-rotated");
    },
  });

  pages.post<{ Body: { name?: string; scopes?: string | string[]; expires?: ExpiryChoice } }>(
    `${ACCOUNT}/api-keys/create`,
    {
      schema: pageSchema("pageCreateApiKey", "Create an API key (a sensitive operation); the key is shown once", {
        body: {
          name: field(NAME_MAX_LENGTH),
          scopes: { anyOf: [field(100), { type: "array", items: field(100), maxItems: 100 }] },
          expires: { type: "string", enum: [...EXPIRY_CHOICES] },
        },
        example: { name: "CI deploys", scopes: "invoices:read", expires: DEFAULT_EXPIRY, _csrf: "…" },
      }),
    },
    async (request, reply) => {
      const auth = signedInUser(request, reply);
      if (!auth) return reply;
      const { locale } = request.page;
      const form: NewKeyForm = {
        name: request.body?.name?.trim() ?? "",
        scopes: asList(request.body?.scopes),
        expires: asExpiry(request.body?.expires),
      };
      // What the form lacks is said before any "Confirm it is you", so the proof is not spent on it.
      const errors = noErrors();
      const missing: Array<[string, string]> = [];
      if (!form.name) missing.push([NAME_FIELD, errorText("API_KEY_NAME_REQUIRED", locale)]);
      if (form.scopes.length === 0) missing.push([SCOPES_FIELD, errorText("API_KEY_SCOPES_REQUIRED", locale)]);
      for (const [name, text] of missing) {
        errors.fields[name] = [text];
        errors.summary.push({ text, field: name });
      }
      if (missing.length > 0)
        return showAccount(deps, request, reply, auth, { section: "api-keys", errors, values: valuesOf(form) }, 400);
      const target = JSON.stringify(form);
      if (target.length > TARGET_MAX)
        return refusedKey(request, reply, auth, new AuthError("API_KEY_SCOPES_INVALID"), form);
      return createKey(request, reply, auth, { action: "api-key-create", target });
    },
  );

  pages.post<{ Body: { id?: string; confirm?: string } }>(
    `${ACCOUNT}/api-keys/rotate`,
    {
      schema: pageSchema(
        "pageRotateApiKey",
        "Replace an API key by a new one (a sensitive operation): the first post asks to confirm, the second replaces it and shows the new key once",
        { body: { id: field(64), confirm: field(8) }, example: { id: "2b5f…", confirm: "yes", _csrf: "…" } },
      ),
    },
    async (request, reply) => {
      const auth = signedInUser(request, reply);
      if (!auth) return reply;
      const id = request.body?.id ?? "";
      if (request.body?.confirm === "yes")
        return rotateKey(request, reply, auth, { action: "api-key-rotate", target: id });
      const key = (await deps.apiKeys.findForUser(auth.user.id, id)) ?? null;
      // Revoked, or not this user's: the list shown next is the truth.
      if (!key || key.revokedAt) return reply.redirect(ACCOUNT, 303);
      return render(request, reply, "api-key-rotate", {
        title: request.page.t.apiKeyRotateTitle,
        key: { id: key.id, name: key.name, tokenPrefix: key.tokenPrefix },
      });
    },
  );

  pages.post<{ Body: { id?: string; confirm?: string } }>(
    `${ACCOUNT}/api-keys/revoke`,
    {
      schema: pageSchema("pageRevokeApiKey", "Revoke an API key: the first post asks to confirm, the second revokes", {
        body: { id: field(64), confirm: field(8) },
        example: { id: "2b5f…", confirm: "yes", _csrf: "…" },
      }),
    },
    async (request, reply) => {
      const auth = signedInUser(request, reply);
      if (!auth) return reply;
      const id = request.body?.id ?? "";
      const key = (await deps.apiKeys.findForUser(auth.user.id, id)) ?? null;
      // Already revoked, or not this user's: the list shown next is the truth.
      if (!key || key.revokedAt) return reply.redirect(`${ACCOUNT}?notice=api-key-revoked`, 303);
      if (request.body?.confirm !== "yes") {
        return render(request, reply, "api-key-revoke", {
          title: request.page.t.apiKeyRevokeTitle,
          key: { id: key.id, name: key.name, tokenPrefix: key.tokenPrefix },
        });
      }
      try {
        await revokeApiKey(deps, auth.user, id, requestContext(request));
      } catch (error) {
        if (!(error instanceof AuthError) || error.code !== "API_KEY_NOT_FOUND") throw error;
      }
      return reply.redirect(`${ACCOUNT}?notice=api-key-revoked`, 303);
    },
  );
}

/** A new key's only showing (created or the replacement of one): never cached, never in a URL. */
function showKeyOnce(
  request: FastifyRequest,
  reply: FastifyReply,
  key: ApiKeyView & { token: string },
  notice: "api-key-created" | "api-key-rotated",
) {
  reply.header("cache-control", "no-store");
  const { t } = request.page;
  return render(request, reply, "api-key-created", {
    title: notice === "api-key-rotated" ? t.apiKeyRotatedTitle : t.apiKeyCreatedTitle,
    key: { name: key.name, token: key.token, scopes: key.scopes },
    notice: t.notices[notice],
  });
}
