import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { TokenPair } from "../../domain/context.js";
import { AuthError } from "../../domain/errors.js";
import { loginWithPasskey } from "../../domain/factors/passkeys/login.js";
import { deletePasskey, renamePasskey } from "../../domain/factors/passkeys/management.js";
import { registerPasskey, registrationOptions } from "../../domain/factors/passkeys/registration.js";
import type { Authenticated } from "../../domain/sessions/authentication.js";
import { requireRecentAuthentication } from "../../domain/sessions/step-up.js";
import { requestContext } from "../context.js";
import { ACCOUNT, describeDevice, refused, signedInUser } from "./account.js";
import type { PageDeps } from "./index.js";
import { optionsAttribute, render } from "./render.js";
import { field, pageSchema, redirectQuery } from "./schemas.js";
import { parseCredential, sensitiveAction } from "./sensitive.js";

/** The longest passkey name the API takes. */
const NAME_MAX = 100;

/**
 * Passkeys on the pages. WebAuthn exists only in a browser's JavaScript, so /assets/pages.js runs
 * the ceremony (the SDK's helpers) and posts its answer with an ordinary form, CSRF token and
 * all; everything else (options, verification, sessions, errors) happens here, as for any form.
 */
export function passkeyPages(
  pages: FastifyInstance,
  deps: PageDeps,
  signIn: {
    /** The cookies, then on to `redirect_to` (login.ts's own end of a sign-in). */
    signedIn(reply: FastifyReply, tokens: TokenPair, redirectTo: unknown): FastifyReply;
    /** The sign-in page again with the refusal next to the passkey button. */
    refusedLogin(
      request: FastifyRequest,
      reply: FastifyReply,
      error: AuthError,
      redirectTo: unknown,
    ): Promise<FastifyReply>;
  },
): void {
  pages.post<{ Body: { session_id?: string; credential?: string; redirect_to?: string } }>(
    "/login/passkey",
    {
      config: { rateLimit: "oauth_login" },
      schema: pageSchema("pageLoginPasskey", "Sign in with a passkey (the page script ran the ceremony)", {
        body: { session_id: field(256), credential: field(8192), redirect_to: redirectQuery.redirect_to },
        example: { session_id: "q1Zx…", credential: '{"id":"…","response":{…}}', redirect_to: "/account", _csrf: "…" },
      }),
    },
    async (request, reply) => {
      const form = request.body ?? {};
      try {
        const tokens = await loginWithPasskey(
          deps,
          { sessionId: form.session_id, credential: parseCredential(form.credential) },
          requestContext(request),
        );
        return signIn.signedIn(reply, tokens, form.redirect_to);
      } catch (error) {
        if (!(error instanceof AuthError) || error.code === "RATE_LIMITED" || error.code === "OVERLOADED") throw error;
        return signIn.refusedLogin(request, reply, error, form.redirect_to);
      }
    },
  );

  /** The page that runs the authenticator: options made for this session, the name carried along. */
  const showCreate = async (request: FastifyRequest, reply: FastifyReply, auth: Authenticated, name: string) =>
    render(request, reply, "passkey-add", {
      title: request.page.t.passkeyAddTitle,
      name,
      creationOptions: optionsAttribute(await registrationOptions(deps, auth)),
    });

  const addPasskey = sensitiveAction(pages, deps, {
    action: "passkey-add",
    section: "passkeys",
    notice: "passkey-added",
    errorField: () => "passkeyName",
    async perform(request, reply, auth, pending, verificationToken) {
      await requireRecentAuthentication(deps, auth, { verificationToken });
      return showCreate(request, reply, auth, pending.target);
    },
  });
  sensitiveAction(pages, deps, {
    action: "passkey-remove",
    section: "passkeys",
    notice: "passkey-removed",
    errorField: (pending) => `remove-${pending.target}`,
    async perform(request, _reply, auth, pending, verificationToken) {
      await requireRecentAuthentication(deps, auth, { verificationToken });
      await deletePasskey(deps, auth, pending.target, requestContext(request));
      return undefined;
    },
    form: {
      path: `${ACCOUNT}/passkeys/remove`,
      operationId: "pageRemovePasskey",
      summary: "Remove a passkey (a sensitive operation)",
    },
  });

  pages.post<{ Body: { id?: string; name?: string } }>(
    `${ACCOUNT}/passkeys/rename`,
    {
      schema: pageSchema("pageRenamePasskey", "Rename a passkey", {
        body: { id: field(64), name: field(1000) },
        example: { id: "2b5f…", name: "Work laptop", _csrf: "…" },
      }),
    },
    async (request, reply) => {
      const auth = signedInUser(request, reply);
      if (!auth) return reply;
      const id = request.body?.id ?? "";
      const input = `rename-${id}`;
      try {
        await renamePasskey(deps, auth, id, request.body?.name ?? "", requestContext(request));
      } catch (error) {
        return refused(deps, request, reply, auth, "passkeys", error, input, { name: input });
      }
      return reply.redirect(`${ACCOUNT}?notice=passkey-renamed`, 303);
    },
  );

  pages.post<{ Body: { name?: string } }>(
    `${ACCOUNT}/passkeys/add`,
    {
      schema: pageSchema("pageAddPasskey", "Start adding a passkey (a sensitive operation)", {
        body: { name: field(NAME_MAX) },
        example: { name: "Laptop", _csrf: "…" },
      }),
    },
    async (request, reply) => {
      const auth = signedInUser(request, reply);
      if (!auth) return reply;
      // Unnamed: named after the browser that made it, which is what tells passkeys apart in the list.
      const name =
        request.body?.name?.trim() ||
        describeDevice(request.headers["user-agent"] ?? null) ||
        request.page.t.passkeyDefaultName;
      return addPasskey(request, reply, auth, { action: "passkey-add", target: name.slice(0, NAME_MAX) });
    },
  );

  pages.post<{ Body: { name?: string; credential?: string } }>(
    `${ACCOUNT}/passkeys/register`,
    {
      schema: pageSchema("pageRegisterPasskey", "Store the passkey the page script created", {
        body: { name: field(NAME_MAX), credential: field(8192) },
        example: { name: "Laptop", credential: '{"id":"…","response":{…}}', _csrf: "…" },
      }),
    },
    async (request, reply) => {
      const auth = signedInUser(request, reply);
      if (!auth) return reply;
      const form = request.body ?? {};
      try {
        await registerPasskey(
          deps,
          auth,
          { name: form.name?.trim() || undefined, credential: parseCredential(form.credential) },
          requestContext(request),
        );
      } catch (error) {
        return refused(deps, request, reply, auth, "passkeys", error, "passkeyName", {}, { name: form.name ?? "" });
      }
      return reply.redirect(`${ACCOUNT}?notice=passkey-added`, 303);
    },
  );
}
