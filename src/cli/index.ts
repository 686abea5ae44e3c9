import fs from "node:fs";
import path from "node:path";
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
import type { Actor } from "../domain/admin/context.js";
import type { UserStatus } from "../domain/admin/ports.js";
import { deleteUser, revokeUserSessions, searchUsers, showUser } from "../domain/admin/users.js";
import { normaliseEmail } from "../domain/context.js";
import { AuthError } from "../domain/errors.js";
import { resetMfa } from "../domain/factors/management.js";
import { purgeExpired } from "../domain/security/retention.js";
import { rotateMasterSecret, SecretRotationError } from "../domain/security/secret-rotation.js";
import { buildDeps, resolveSecret, type Deps } from "../deps.js";
import { createLogger } from "../log.js";
import { assertDatabaseExists, StartupError } from "../startup.js";
import { createSealedStore } from "../storage/secret-rotation.js";
import { setEmailByOperator } from "../domain/accounts/email-change.js";
import { readImportFile } from "./import-file.js";
import { PasswordInputError, readPassword } from "./password-input.js";

const USAGE = `usage: warden <command>

  user create --email E [--unconfirmed] [--inactive] [--role ROLE ...]
                                the password is read from stdin when piped, else typed at a prompt
  user deactivate --email E     revoke every session and block logins
  user activate --email E
  user confirm --email E        mark the email address as confirmed
  user set-email --email E --new N
                                move the account to another address (counts as confirmed; links
                                to the old address die, and it is told)
  user mfa-reset --email E      turn two-factor off (user lost every factor); codes and challenges die
  user import --file F          JSON array or CSV (email,password_hash,confirmed,active[,roles]);
                                bad rows are reported by line and skipped; exit 1 if any was
  user list [--email PREFIX] [--status active|inactive|unconfirmed|deleted] [--limit N]
  user show --email E
  user delete --email E         erase personal data; sessions, challenges and API keys end
  sessions revoke --email E     end every session of the user
  keys rotate                   make a new signing key the signer
  keys revoke KID               a leaked key: out of the JWKS and verification at once, on every
                                instance within a second; revoking the signer rotates in a new one
  keys list
  secret rotate                 seal every stored secret under a new WARDEN_SECRET, read from stdin
                                when piped, else typed at a prompt; stop every instance first
  migrate                       bring the database schema up to date
  purge                         delete expired tokens, ended sessions and API keys, old events now
                                (RETENTION_DAYS_*; the server also does it every RETENTION_PURGE_INTERVAL)

  --version                     print Warden's version

Configuration comes from the same environment variables as the server (DATABASE_URL, ...).
Exit codes: 0 done, 1 failed (e.g. no such user), 2 usage error (e.g. a required option missing), 78 bad configuration.`;

/** A failure the user can act on (no such user...): printed as one line, exit code 1. */
class CommandError extends Error {}

/** The command line itself is wrong (a required option or argument missing): one line, exit code 2. */
class UsageError extends Error {}

/** A missing required option is a usage error, found before anything is opened. */
function required(options: Options, ...names: string[]): void {
  const missing = names.filter((name) => typeof options[name] !== "string");
  if (missing.length > 0)
    throw new UsageError(`${missing.map((n) => `--${n}`).join(" and ")} ${missing.length > 1 ? "are" : "is"} required`);
}

/** `--role admin` and `--role ROLE_ADMIN` are the same role: Symfony's ROLE_ names are what tokens carry. */
export const normaliseRole = (role: string): string => {
  const upper = role.trim().toUpperCase().replace(/-/g, "_");
  return upper.startsWith("ROLE_") ? upper : `ROLE_${upper}`;
};

const STATUSES = ["active", "inactive", "unconfirmed", "deleted"];

/** A command's answer: printed on stdout; a non-zero code still prints it (an import with bad rows). */
type Outcome = string | { output: string; code: number };

const PASSWORD_IN_ARGV =
  "--password is not accepted: a password on the command line shows in ps and in the shell's history. " +
  "Pipe it on standard input (printf '%s\\n' \"$PASSWORD\" | warden user create --email E) or type it at the prompt";

type Options = Record<string, string | boolean | string[] | undefined>;

/** What the CLI records as the actor in security events: the shell on the server did it. */
const CLI = { ip: null, userAgent: "warden-cli" };
const CLI_ACTOR: Actor = { id: null, email: null, ...CLI };

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
  const user = await deps.users.findByEmail(normaliseEmail(options.email as string));
  if (!user || user.deletedAt) throw new CommandError(`no user with email ${options.email}`);
  return user;
}

/** Commands on one user named by `--email`: the option is checked before the database is opened. */
const withUser =
  (run: (deps: Deps, user: Awaited<ReturnType<typeof findUser>>) => Promise<Outcome>) =>
  (options: Options): Promise<Outcome> => {
    required(options, "email");
    return withDeps(async (deps) => run(deps, await findUser(deps, options)));
  };

const commands: Record<string, (options: Options, args: string[]) => Promise<Outcome>> = {
  "user create": async (o) => {
    if (o.password !== undefined) throw new UsageError(PASSWORD_IN_ARGV);
    required(o, "email");
    const password = await readPassword();
    if (!password) throw new CommandError("no password given (pipe it on standard input or type it at the prompt)");
    return withDeps(async (deps) => {
      const user = await createUser(deps, {
        email: o.email as string,
        password,
        confirmed: !o.unconfirmed,
        active: !o.inactive,
        roles: ((o.role as string[] | undefined) ?? []).map(normaliseRole),
      });
      return `created user ${user.email} (${user.id})`;
    });
  },
  "user deactivate": withUser(async (deps, user) => {
    await deactivateUser(deps, user, CLI);
    return `deactivated ${user.email}; every session revoked`;
  }),
  "user activate": withUser(async (deps, user) => {
    await activateUser(deps, user, CLI);
    return `activated ${user.email}`;
  }),
  "user confirm": withUser(async (deps, user) => {
    const changed = await confirmUserEmail(deps, user, CLI);
    return changed ? `confirmed ${user.email}` : `${user.email} was already confirmed`;
  }),
  "user set-email": (o) => {
    required(o, "new");
    return withUser(async (deps, user) => {
      const email = await setEmailByOperator(deps, user, o.new as string, CLI);
      return `${user.email} is now ${email}; the old address was told`;
    })(o);
  },
  "user mfa-reset": withUser(async (deps, user) => {
    await resetMfa(deps, user, CLI);
    return `two-factor authentication reset for ${user.email}; they log in with the password alone until they enrol again`;
  }),
  "user import": (o) => {
    required(o, "file");
    return withDeps(async (deps) => {
      const report = await importUsers(deps, readImportFile(o.file as string));
      const lines = report.skipped.map((s) => `  ${s.row} (${s.email || "no email"}): ${s.reason}`);
      const output = [`imported ${report.imported} user(s), skipped ${report.skipped.length}`, ...lines].join("\n");
      return { output, code: report.skipped.length > 0 ? 1 : 0 };
    });
  },
  "user list": (o) => {
    if (o.status !== undefined && !STATUSES.includes(o.status as string))
      throw new UsageError(`--status must be one of ${STATUSES.join(", ")}`);
    if (o.limit !== undefined && !/^[1-9][0-9]{0,3}$/.test(o.limit as string))
      throw new UsageError("--limit must be a whole number from 1 to 9999");
    return withDeps(async (deps) => {
      const page = await searchUsers(deps, CLI_ACTOR, {
        email: o.email as string | undefined,
        status: o.status as UserStatus | undefined,
        limit: o.limit ? Number(o.limit) : 200,
      });
      const lines = page.data.map(
        (u) => `${u.email}  ${u.id}  ${u.status}  ${u.roles.join(",")}  created ${u.createdAt}`,
      );
      if (page.next) lines.push("(more: narrow the search with --email or raise --limit)");
      return lines.length ? lines.join("\n") : "no users";
    });
  },
  "user show": withUser(async (deps, user) => JSON.stringify(await showUser(deps, CLI_ACTOR, user.id), null, 2)),
  "user delete": withUser(async (deps, user) => {
    await deleteUser(deps, CLI_ACTOR, user.id);
    return `deleted ${user.email}; personal data erased, every session and API key ended`;
  }),
  "sessions revoke": withUser(async (deps, user) => {
    const { revoked } = await revokeUserSessions(deps, CLI_ACTOR, user.id);
    return `revoked ${revoked} session(s) of ${user.email}`;
  }),
  "keys rotate": () =>
    withDeps(async (deps) => {
      const kid = await deps.keys.rotate();
      return `new signing key ${kid}; older keys stay in the JWKS until their tokens expire`;
    }),
  "keys revoke": (_o, args) => {
    const kid = args[0];
    if (!kid || args.length > 1) throw new UsageError("usage: warden keys revoke KID, a kid from warden keys list");
    return withDeps(async (deps) => {
      try {
        const result = await deps.keys.revoke(kid);
        if (result.alreadyRevoked) return `${kid} was already revoked`;
        return result.newSigner
          ? `revoked ${kid}; new signing key ${result.newSigner}; every token ${kid} signed is refused within a second on every instance`
          : `revoked ${kid}; every token it signed is refused within a second on every instance`;
      } catch (error) {
        if (error instanceof AuthError && error.code === "NOT_FOUND") throw new CommandError(`no signing key ${kid}`);
        throw error;
      }
    });
  },
  "secret rotate": async () => {
    const next = await readPassword(process.stdin, "new secret");
    return withDeps(async (deps) => {
      const current = resolveSecret(deps.config, deps.log);
      // Without WARDEN_SECRET the secret lives in the data folder: the new one goes there too,
      // written beside it first and renamed over it once the database holds what it opens.
      const file = deps.config.WARDEN_SECRET ? null : path.join(deps.config.DATA_DIR, "secret");
      if (file) fs.writeFileSync(`${file}.next`, next + "\n", { mode: 0o600 });
      let counts;
      try {
        counts = await rotateMasterSecret(
          { box: deps.box, sealed: createSealedStore(deps.database.db, deps.database.engine) },
          current,
          next,
        );
      } catch (error) {
        if (file) fs.rmSync(`${file}.next`, { force: true });
        throw error;
      }
      if (file) fs.renameSync(`${file}.next`, file);
      return [
        `resealed ${counts.signingKeys} signing keys and ${counts.totpSecrets} TOTP secrets under the new secret`,
        `deleted ${counts.backupCodes} backup codes (their users make new ones) and ${counts.emailCodes} pending email codes`,
        file
          ? `wrote the new secret to ${file}; start every instance now`
          : "start every instance with the new WARDEN_SECRET now: the old one opens nothing any more",
      ].join("\n");
    });
  },
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
      new: { type: "string" },
      password: { type: "string" },
      file: { type: "string" },
      role: { type: "string", multiple: true },
      status: { type: "string" },
      limit: { type: "string" },
      version: { type: "boolean" },
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
    // A value that looks like an option (an older key id may begin with "-") goes after "--".
    const looksLikeValue = /^Unknown option '-/.test(sentence) && !/^Unknown option '--[a-z][a-z-]*'$/.test(sentence);
    const hint = looksLikeValue ? "; a value that starts with '-' goes after '--'" : "";
    console.error(`warden: ${sentence} (see warden --help${hint})`);
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
  if (values.version) {
    const pkg = JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    console.log(`warden ${pkg.version}`);
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
    if (error instanceof UsageError) {
      console.error(`warden: ${error.message} (see warden --help)`);
      return 2;
    }
    if (
      error instanceof CommandError ||
      error instanceof AccountError ||
      error instanceof PasswordInputError ||
      error instanceof SecretRotationError ||
      error instanceof StartupError
    ) {
      console.error(`warden: ${error.message}`);
      return 1;
    }
    console.error(`warden: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
