import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { createApiKey, NAME_MAX_LENGTH, revokeApiKey } from "../../domain/api-keys/management.js";
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

/** What the new-key form asked for, carried through "Confirm it is you" as the pending target. */
interface NewKeyForm {
  name: string;
  scopes: string[];
}

const asList = (value: unknown): string[] =>
  (Array.isArray(value) ? value : value === undefined ? [] : [value]).filter(
    (v): v is string => typeof v === "string" && v !== "",
  );

function parseTarget(target: string): NewKeyForm {
  try {
    const parsed = JSON.parse(target) as { name?: unknown; scopes?: unknown };
    return { name: typeof parsed.name === "string" ? parsed.name : "", scopes: asList(parsed.scopes) };
  } catch {
    return { name: "", scopes: [] };
  }
}

/** The form's values for the account page, so a refused form comes back as it was filled in. */
const valuesOf = (form: NewKeyForm) => ({ name: form.name, scopes: form.scopes.join(" ") });

/**
 * API keys on /account: the list, a new key (a sensitive operation, through the same "Confirm it
 * is you" as a new passkey) shown once, and revoking after a confirmation page. The rules are the
 * API's (domain/api-keys): names, the scope catalogue, who may grant what.
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
        created = await createApiKey(deps, auth.user, form, requestContext(request));
      } catch (error) {
        return refusedKey(request, reply, auth, error, form);
      }
      // The key exists only in this answer: never cached, never in a URL.
      reply.header("cache-control", "no-store");
      return render(request, reply, "api-key-created", {
        title: request.page.t.apiKeyCreatedTitle,
        key: { name: created.name, token: created.token, scopes: created.scopes },
        notice: request.page.t.notices["api-key-created"],
      });
    },
  });

  pages.post<{ Body: { name?: string; scopes?: string | string[] } }>(
    `${ACCOUNT}/api-keys/create`,
    {
      schema: pageSchema("pageCreateApiKey", "Create an API key (a sensitive operation); the key is shown once", {
        body: {
          name: field(NAME_MAX_LENGTH),
          scopes: { anyOf: [field(100), { type: "array", items: field(100), maxItems: 100 }] },
        },
        example: { name: "CI deploys", scopes: "invoices:read", _csrf: "…" },
      }),
    },
    async (request, reply) => {
      const auth = signedInUser(request, reply);
      if (!auth) return reply;
      const { locale } = request.page;
      const form: NewKeyForm = { name: request.body?.name?.trim() ?? "", scopes: asList(request.body?.scopes) };
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
