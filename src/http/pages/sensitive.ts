import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AuthError } from "../../domain/errors.js";
import { sendStepUpEmailOtp } from "../../domain/factors/email-otp/email-otp.js";
import type { FactorMethod } from "../../domain/factors/second-factor.js";
import type { Authenticated } from "../../domain/sessions/authentication.js";
import { startStepUp, stepUpPasskeyOptions, verifyStepUp } from "../../domain/sessions/step-up.js";
import { requestContext } from "../context.js";
import { ACCOUNT, refused, signedInUser, type Section } from "./account.js";
import type { PageDeps } from "./index.js";
import { formErrorsOf, optionsAttribute, noErrors, render, statusOf, type FormErrors } from "./render.js";
import { field, pageSchema } from "./schemas.js";

/**
 * The account page's sensitive operations (adding or removing a passkey, unlinking an identity,
 * a first password, a new API key or the replacement of one, a new email address)
 * follow the API's rule: a session that signed in within REAUTH_MAX_AGE, or a step-up
 * verification token of this session. A page that is refused shows "Confirm it's you" with the
 * user's second factors and, once one is proved, carries the operation out with the token.
 */
export type SensitiveAction =
  | "passkey-add"
  | "passkey-remove"
  | "identity-unlink"
  | "password-set"
  | "api-key-create"
  | "api-key-rotate"
  | "email-change";
const ACTIONS: readonly SensitiveAction[] = [
  "passkey-add",
  "passkey-remove",
  "identity-unlink",
  "password-set",
  "api-key-create",
  "api-key-rotate",
  "email-change",
];
const STEP_UP_METHODS: readonly FactorMethod[] = ["passkey", "totp", "backup_code", "email_otp"];

/** What to do after the proof: the action and its one parameter (a passkey's name, an id, a new key's form as JSON). */
export interface PendingAction {
  action: SensitiveAction;
  target: string;
}

/** Carries the action out, given a verification token when there is one; it enforces the rule itself. */
export type ActionRunner = (
  request: FastifyRequest,
  reply: FastifyReply,
  auth: Authenticated,
  pending: PendingAction,
  verificationToken?: string,
) => Promise<FastifyReply>;

/** The longest pending parameter a step-up form carries. */
export const TARGET_MAX = 4096;

const runners = new Map<SensitiveAction, ActionRunner>();

/** Each module registers how to carry out its own sensitive actions. */
export function onSensitiveAction(action: SensitiveAction, run: ActionRunner): void {
  runners.set(action, run);
}

/**
 * A sensitive action of the account page: `perform` runs it (with the step-up verification token
 * once there is one) and returns a page to show, or nothing for "done" (back to /account with
 * `notice`). A refusal asking for a step-up shows "Confirm it is you"; any other is shown next to
 * `errorField` in `section`. With `form`, a POST route taking `{id}` starts it.
 */
export function sensitiveAction(
  pages: FastifyInstance,
  deps: PageDeps,
  spec: {
    action: SensitiveAction;
    section: Section;
    notice: string;
    errorField(pending: PendingAction): string;
    /** The form's values shown again beside a refusal. */
    values?(pending: PendingAction): Record<string, string>;
    perform(
      request: FastifyRequest,
      reply: FastifyReply,
      auth: Authenticated,
      pending: PendingAction,
      verificationToken?: string,
    ): Promise<FastifyReply | undefined>;
    /** A POST route that starts it, taking one field (by default `{id}`) as the pending target. */
    form?: {
      path: string;
      operationId: string;
      summary: string;
      field?: { name: string; maxLength: number; example: string };
    };
  },
): ActionRunner {
  const run: ActionRunner = async (request, reply, auth, pending, verificationToken) => {
    try {
      const shown = await spec.perform(request, reply, auth, pending, verificationToken);
      if (shown) return shown;
    } catch (error) {
      if (needsStepUp(error)) return showStepUp(deps, request, reply, auth, pending);
      const values = spec.values?.(pending);
      return refused(deps, request, reply, auth, spec.section, error, spec.errorField(pending), {}, values);
    }
    return reply.redirect(`${ACCOUNT}?notice=${spec.notice}`, 303);
  };
  onSensitiveAction(spec.action, run);
  if (spec.form) {
    const { name, maxLength, example } = spec.form.field ?? { name: "id", maxLength: 64, example: "2b5f…" };
    pages.post<{ Body: Record<string, string | undefined> }>(
      spec.form.path,
      {
        schema: pageSchema(spec.form.operationId, spec.form.summary, {
          body: { [name]: field(maxLength) },
          example: { [name]: example, _csrf: "…" },
        }),
      },
      async (request, reply) => {
        const auth = signedInUser(request, reply);
        if (!auth) return reply;
        return run(request, reply, auth, { action: spec.action, target: request.body?.[name]?.trim() ?? "" });
      },
    );
  }
  return run;
}

/** True for the refusal that asks for a step-up (403 mfa_required). */
export const needsStepUp = (error: unknown): boolean => error instanceof AuthError && error.code === "MFA_REQUIRED";

type StepUpForm = {
  challenge_token?: string;
  methods?: string;
  type?: string;
  code?: string;
  credential?: string;
  action?: string;
  target?: string;
};

export function parseCredential(value: string | undefined): unknown {
  if (!value) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** An open step-up challenge, carried in the page's hidden fields between answers. */
interface OpenChallenge {
  challengeToken: string;
  methods: FactorMethod[];
  /** The method to show first (the one just tried). */
  method?: FactorMethod;
}

/** "Confirm it's you": the open challenge again (after a wrong answer), or a new one. */
export async function showStepUp(
  deps: PageDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  auth: Authenticated,
  pending: PendingAction,
  options: { open?: OpenChallenge; errors?: FormErrors; status?: number; notice?: string } = {},
) {
  const { t } = request.page;
  let challenge = options.open;
  if (!challenge) {
    const started = await startStepUp(deps, auth);
    if (!started) {
      // No second factor to prove: only a fresh sign-in makes the session count as recent.
      return render(
        request,
        reply,
        "message",
        {
          title: t.stepUpTitle,
          message: t.reauth,
          links: [{ href: `/login?prompt=login&redirect_to=${encodeURIComponent(ACCOUNT)}`, text: t.signInAgain }],
        },
        403,
      );
    }
    challenge = started;
  }
  const passkeyOptions = challenge.methods.includes("passkey")
    ? optionsAttribute(await stepUpPasskeyOptions(deps, auth, { challengeToken: challenge.challengeToken }))
    : null;
  return render(
    request,
    reply,
    "step-up",
    {
      title: t.stepUpTitle,
      pending,
      step: { challenge_token: challenge.challengeToken, methods: challenge.methods },
      passkeyOptions,
      openMethod: challenge.method ?? challenge.methods.find((m) => m === "totp" || m === "backup_code"),
      errors: options.errors ?? noErrors(),
      ...(options.notice ? { notice: options.notice } : {}),
    },
    options.status ?? 403,
  );
}

export function sensitivePages(pages: FastifyInstance, deps: PageDeps): void {
  const pendingOf = (form: StepUpForm): PendingAction | null => {
    const action = ACTIONS.find((a) => a === form.action);
    return action ? { action, target: form.target ?? "" } : null;
  };
  /** The signed-in user and the action a step-up form carries; null when the reply is already on its way (to sign-in, or back). */
  const pendingIn = (request: FastifyRequest<{ Body: StepUpForm }>, reply: FastifyReply) => {
    const auth = signedInUser(request, reply);
    if (!auth) return null;
    const form = request.body ?? {};
    const pending = pendingOf(form);
    if (!pending) {
      void reply.redirect(ACCOUNT, 303);
      return null;
    }
    return { auth, form, pending };
  };
  const methodsOf = (form: StepUpForm) =>
    (form.methods ?? "").split(",").filter((m): m is FactorMethod => STEP_UP_METHODS.includes(m as FactorMethod));
  const body = {
    challenge_token: field(256),
    methods: field(128),
    action: field(32),
    // A new API key's name and scopes ride along as JSON.
    target: field(TARGET_MAX),
  };

  pages.post<{ Body: StepUpForm }>(
    `${ACCOUNT}/confirm`,
    {
      config: { rateLimit: "mfa" },
      schema: pageSchema("pageStepUp", "Prove a second factor again, then carry out the pending change", {
        body: { ...body, type: field(16), code: field(64), credential: field(8192) },
        example: {
          challenge_token: "…",
          methods: "totp",
          type: "totp",
          code: "123456",
          action: "passkey-remove",
          target: "2b5f…",
          _csrf: "…",
        },
      }),
    },
    async (request, reply) => {
      const started = pendingIn(request, reply);
      if (!started) return reply;
      const { auth, form, pending } = started;
      const type = STEP_UP_METHODS.find((m) => m === form.type) ?? "totp";
      let verificationToken: string;
      try {
        ({ verification_token: verificationToken } = await verifyStepUp(
          deps,
          auth,
          { challengeToken: form.challenge_token, type, code: form.code, credential: parseCredential(form.credential) },
          requestContext(request),
        ));
      } catch (error) {
        if (!(error instanceof AuthError) || error.code === "RATE_LIMITED" || error.code === "OVERLOADED") throw error;
        const errors = formErrorsOf(error, request.page.locale, fieldOf(type));
        // A wrong answer leaves the challenge open (up to five answers); a dead one is replaced.
        const isOpen = ![
          "STEP_UP_CHALLENGE_INVALID",
          "STEP_UP_CHALLENGE_MISSING",
          "STEP_UP_TOO_MANY_ATTEMPTS",
        ].includes(error.code);
        const open = isOpen
          ? { challengeToken: form.challenge_token ?? "", methods: methodsOf(form), method: type }
          : undefined;
        return showStepUp(deps, request, reply, auth, pending, { open, errors, status: statusOf(error) });
      }
      return runners.get(pending.action)!(request, reply, auth, pending, verificationToken);
    },
  );

  pages.post<{ Body: StepUpForm }>(
    `${ACCOUNT}/confirm/email-code`,
    {
      config: { rateLimit: "mfa" },
      schema: pageSchema("pageStepUpEmailCode", "Mail a code that answers the open step-up challenge", {
        body,
        example: {
          challenge_token: "…",
          methods: "totp,email_otp",
          action: "identity-unlink",
          target: "5b0e…",
          _csrf: "…",
        },
      }),
    },
    async (request, reply) => {
      const started = pendingIn(request, reply);
      if (!started) return reply;
      const { auth, form, pending } = started;
      const open = {
        challengeToken: form.challenge_token ?? "",
        methods: methodsOf(form),
        method: "email_otp" as const,
      };
      try {
        await sendStepUpEmailOtp(deps, auth, { challengeToken: open.challengeToken }, requestContext(request));
      } catch (error) {
        if (!(error instanceof AuthError) || error.code === "RATE_LIMITED" || error.code === "OVERLOADED") throw error;
        const errors = formErrorsOf(error, request.page.locale, "email_otp");
        const stillOpen = error.code !== "STEP_UP_CHALLENGE_INVALID";
        return showStepUp(deps, request, reply, auth, pending, {
          open: stillOpen ? open : undefined,
          errors,
          status: statusOf(error),
        });
      }
      return showStepUp(deps, request, reply, auth, pending, {
        open,
        status: 200,
        notice: request.page.t.emailCodeSent,
      });
    },
  );
}

/** The field an answer of this type was typed into (the passkey's is its button). */
export const fieldOf = (type: FactorMethod): string => (type === "passkey" ? "passkey" : type);
