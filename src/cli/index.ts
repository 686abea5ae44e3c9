import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../config.js";
import {
  AccountError,
  activateUser,
  confirmUserEmail,
  createUser,
  deactivateUser,
  importUsers,
} from "../domain/accounts/lifecycle.js";
import { normaliseEmail } from "../domain/context.js";
import { AuthError } from "../domain/errors.js";
import { resetMfa } from "../domain/factors/management.js";
import { purgeExpired } from "../domain/security/retention.js";
import { buildDeps, type Deps } from "../deps.js";
import { createLogger } from "../log.js";
import { assertDatabaseExists, StartupError } from "../startup.js";
import { readImportFile } from "./import-file.js";
import { PasswordInputError, readPassword } from "./password-input.js";

const USAGE = `usage: warden <command>

  user create --email E [--unconfirmed] [--inactive] [--role ROLE ...]
                                the password is read from stdin when piped, else typed at a prompt
  user deactivate --email E     revoke every session and block logins
  user activate --email E
  user confirm --email E        mark the email address as confirmed
  user mfa-reset --email E      turn two-factor off (user lost every factor); codes and challenges die
  user import --file F          JSON array or CSV (email,password_hash,confirmed,active[,roles]);
                                bad rows are reported by line and skipped; exit 1 if any was
  keys rotate                   make a new signing key the signer
  keys revoke KID               a leaked key: out of the JWKS and verification at once, on every
                                instance within a second; revoking the signer rotates in a new one
  keys list
  migrate                       bring the database schema up to date
  purge                         delete expired tokens, ended sessions and old events now
                                (RETENTION_DAYS_*; the server also does it every RETENTION_PURGE_INTERVAL)

Configuration comes from the same environment variables as the server (DATABASE_URL, ...).`;

/** A failure the user can act on: printed as one line, exit code 1 (or `code`). */
class UsageError extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
  }
}

/** A command's answer: printed on stdout; a non-zero code still prints it (an import with bad rows). */
type Outcome = string | { output: string; code: number };

const PASSWORD_IN_ARGV =
  "--password is not accepted: a password on the command line shows in ps and in the shell's history. " +
  "Pipe it on standard input (printf '%s\\n' \"$PASSWORD\" | warden user create --email E) or type it at the prompt";

type Options = Record<string, string | boolean | string[] | undefined>;

/** What the CLI records as the actor in security events. */
const CLI = { ip: null, userAgent: "warden-cli" };

async function withDeps<T>(run: (deps: Deps) => Promise<T>, options: { createDatabase?: boolean } = {}): Promise<T> {
  const config = loadConfig();
  if (!options.createDatabase) assertDatabaseExists(config);
  const deps = await buildDeps(config, createLogger("warn", process.stderr as never));
  try {
    return await run(deps);
  } finally {
    await deps.close();
  }
}

async function findUser(deps: Deps, options: Options) {
  if (typeof options.email !== "string") throw new UsageError("--email is required");
  const user = await deps.users.findByEmail(normaliseEmail(options.email));
  if (!user || user.deletedAt) throw new UsageError(`no user with email ${options.email}`);
  return user;
}

const commands: Record<string, (options: Options, args: string[]) => Promise<Outcome>> = {
  "user create": async (o) => {
    if (o.password !== undefined) throw new UsageError(PASSWORD_IN_ARGV, 2);
    if (typeof o.email !== "string") throw new UsageError("--email is required");
    const password = await readPassword();
    if (!password) throw new UsageError("no password given (pipe it on standard input or type it at the prompt)");
    return withDeps(async (deps) => {
      const user = await createUser(deps, {
        email: o.email as string,
        password,
        confirmed: !o.unconfirmed,
        active: !o.inactive,
        roles: (o.role as string[] | undefined) ?? [],
      });
      return `created user ${user.email} (${user.id})`;
    });
  },
  "user deactivate": (o) =>
    withDeps(async (deps) => {
      const user = await findUser(deps, o);
      await deactivateUser(deps, user, CLI);
      return `deactivated ${user.email}; every session revoked`;
    }),
  "user activate": (o) =>
    withDeps(async (deps) => {
      const user = await findUser(deps, o);
      await activateUser(deps, user, CLI);
      return `activated ${user.email}`;
    }),
  "user confirm": (o) =>
    withDeps(async (deps) => {
      const user = await findUser(deps, o);
      const changed = await confirmUserEmail(deps, user, CLI);
      return changed ? `confirmed ${user.email}` : `${user.email} was already confirmed`;
    }),
  "user mfa-reset": (o) =>
    withDeps(async (deps) => {
      const user = await findUser(deps, o);
      await resetMfa(deps, user, CLI);
      return `two-factor authentication reset for ${user.email}; they log in with the password alone until they enrol again`;
    }),
  "user import": (o) =>
    withDeps(async (deps) => {
      if (typeof o.file !== "string") throw new UsageError("--file is required");
      const report = await importUsers(deps, readImportFile(o.file));
      const lines = report.skipped.map((s) => `  ${s.row} (${s.email || "no email"}): ${s.reason}`);
      const output = [`imported ${report.imported} user(s), skipped ${report.skipped.length}`, ...lines].join("\n");
      return { output, code: report.skipped.length > 0 ? 1 : 0 };
    }),
  "keys rotate": () =>
    withDeps(async (deps) => {
      const kid = await deps.keys.rotate();
      return `new signing key ${kid}; older keys stay in the JWKS until their tokens expire`;
    }),
  "keys revoke": (_o, args) =>
    withDeps(async (deps) => {
      const kid = args[0];
      if (!kid || args.length > 1) throw new UsageError("usage: warden keys revoke KID (see warden keys list)");
      try {
        const result = await deps.keys.revoke(kid);
        if (result.alreadyRevoked) return `${kid} was already revoked`;
        return result.newSigner
          ? `revoked ${kid}; new signing key ${result.newSigner}; every token ${kid} signed is refused within a second on every instance`
          : `revoked ${kid}; every token it signed is refused within a second on every instance`;
      } catch (error) {
        if (error instanceof AuthError && error.code === "NOT_FOUND") throw new UsageError(`no signing key ${kid}`);
        throw error;
      }
    }),
  "keys list": () =>
    withDeps(async (deps) =>
      deps.keys
        .list()
        .map(
          (k) =>
            `${k.kid}  created ${k.createdAt.toISOString()}  ${
              k.status === "signing"
                ? "signing"
                : k.status === "revoked"
                  ? `revoked ${k.revokedAt?.toISOString()}`
                  : k.published
                    ? `retired ${k.retiredAt?.toISOString()} (still published)`
                    : "retired"
            }`,
        )
        .join("\n"),
    ),
  migrate: () => withDeps(async () => "database schema is up to date", { createDatabase: true }),
  purge: () =>
    withDeps(async (deps) => {
      const counts = await purgeExpired(deps);
      return `purged ${Object.entries(counts)
        .map(([table, n]) => `${n} ${table}`)
        .join(", ")}`;
    }),
};

function parseCommandLine(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      email: { type: "string" },
      password: { type: "string" },
      file: { type: "string" },
      role: { type: "string", multiple: true },
      unconfirmed: { type: "boolean" },
      inactive: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    // An unknown option or one without its value: one line, like any other usage mistake.
    const sentence = error instanceof Error ? error.message.split(". ")[0]!.replace(/\.$/, "") : String(error);
    console.error(`warden: ${sentence} (see warden --help)`);
    return 2;
  }
  const { values, positionals } = parsed;
  const arity = positionals[0] === "migrate" || positionals[0] === "purge" ? 1 : 2;
  const name = positionals.slice(0, arity).join(" ");
  const command = commands[name];
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!command) {
    console.error(positionals.length ? `warden: unknown command "${positionals.join(" ")}"\n\n${USAGE}` : USAGE);
    return 2;
  }
  try {
    const outcome = await command(values, positionals.slice(arity));
    if (typeof outcome === "string") {
      console.log(outcome);
      return 0;
    }
    console.log(outcome.output);
    return outcome.code;
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) console.error(`warden: invalid configuration: ${problem}`);
      return 78;
    }
    if (
      error instanceof UsageError ||
      error instanceof AccountError ||
      error instanceof PasswordInputError ||
      error instanceof StartupError
    ) {
      console.error(`warden: ${error.message}`);
      return error instanceof UsageError ? error.code : 1;
    }
    console.error(`warden: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
