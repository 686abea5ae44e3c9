import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../config.js";
import { AccountError, activateUser, createUser, deactivateUser, importUsers } from "../domain/accounts/lifecycle.js";
import { normaliseEmail } from "../domain/context.js";
import { resetMfa } from "../domain/factors/management.js";
import { buildDeps, type Deps } from "../deps.js";
import { createLogger } from "../log.js";
import { readImportFile } from "./import-file.js";
import fs from "node:fs";
import type { Actor } from "../domain/admin/context.js";
import type { UserStatus } from "../domain/admin/ports.js";
import { deleteUser, findUserByEmail, revokeUserSessions, searchUsers, showUser } from "../domain/admin/users.js";
import { AuthError } from "../domain/errors.js";

const USAGE = `usage: warden <command>

  user create --email E --password P [--unconfirmed] [--inactive] [--role ROLE ...]
  user deactivate --email E     revoke every session and block logins
  user activate --email E
  user confirm --email E        mark the email address as confirmed
  user mfa-reset --email E      turn two-factor off (user lost every factor); codes and challenges die
  user import --file F          JSON array or CSV (email,password_hash,confirmed,active[,roles])
  user list [--email PREFIX] [--status active|inactive|unconfirmed|deleted] [--limit N]
  user show --email E
  user delete --email E         erase personal data; sessions, challenges and API keys end
  sessions revoke --email E     end every session of the user
  keys rotate                   make a new signing key the signer
  keys list
  migrate                       bring the database schema up to date

  --version                     print Warden's version

Configuration comes from the same environment variables as the server (DATABASE_URL, ...).
Exit codes: 0 done, 1 failed (e.g. no such user), 2 usage error (e.g. a required option missing), 78 bad configuration.`;

/** The command line itself is wrong (a required option missing): one line, exit code 2. */
class UsageError extends Error {}
/** A failure the user can act on (no such user...): one line, exit code 1. */
class CommandError extends Error {}

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

/** The CLI as the actor of admin actions: security events say the shell on the server did it. */
const CLI_ACTOR: Actor = { id: null, email: null, ip: null, userAgent: "warden-cli" };

const STATUSES = ["active", "inactive", "unconfirmed", "deleted"];

async function userByEmail(deps: Deps, email: string) {
  try {
    return await findUserByEmail(deps, email);
  } catch (error) {
    if (error instanceof AuthError && error.code === "USER_NOT_FOUND")
      throw new CommandError(`no user with email ${email}`);
    throw error;
  }
}

type Options = Record<string, string | boolean | string[] | undefined>;

/** What the CLI records as the actor in security events. */
const CLI = { ip: null, userAgent: "warden-cli" };

async function withDeps<T>(run: (deps: Deps) => Promise<T>): Promise<T> {
  const config = loadConfig();
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

/** Commands that need `--email`: checked before the database is opened. */
const withUser =
  (run: (deps: Deps, options: Options) => Promise<string>) =>
  (options: Options): Promise<string> => {
    required(options, "email");
    return withDeps((deps) => run(deps, options));
  };

const commands: Record<string, (options: Options) => Promise<string>> = {
  "user create": (o) => {
    required(o, "email", "password");
    return withDeps(async (deps) => {
      const user = await createUser(deps, {
        email: o.email as string,
        password: o.password as string,
        confirmed: !o.unconfirmed,
        active: !o.inactive,
        roles: ((o.role as string[] | undefined) ?? []).map(normaliseRole),
      });
      return `created user ${user.email} (${user.id})`;
    });
  },
  "user deactivate": withUser(async (deps, o) => {
    const user = await findUser(deps, o);
    await deactivateUser(deps, user, CLI);
    return `deactivated ${user.email}; every session revoked`;
  }),
  "user activate": withUser(async (deps, o) => {
    const user = await findUser(deps, o);
    await activateUser(deps, user, CLI);
    return `activated ${user.email}`;
  }),
  "user confirm": withUser(async (deps, o) => {
    const user = await findUser(deps, o);
    const changed = await deps.users.confirmEmail(user.id, deps.clock.now());
    return changed ? `confirmed ${user.email}` : `${user.email} was already confirmed`;
  }),
  "user mfa-reset": withUser(async (deps, o) => {
    const user = await findUser(deps, o);
    await resetMfa(deps, user, CLI);
    return `two-factor authentication reset for ${user.email}; they log in with the password alone until they enrol again`;
  }),
  "user import": (o) => {
    required(o, "file");
    return withDeps(async (deps) => {
      const report = await importUsers(deps, readImportFile(o.file as string));
      const lines = report.skipped.map((s) => `  row ${s.row} (${s.email || "no email"}): ${s.reason}`);
      return [`imported ${report.imported} user(s), skipped ${report.skipped.length}`, ...lines].join("\n");
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
  "user show": withUser(async (deps, o) => {
    const user = await userByEmail(deps, o.email as string);
    return JSON.stringify(await showUser(deps, CLI_ACTOR, user.id), null, 2);
  }),
  "user delete": withUser(async (deps, o) => {
    const user = await userByEmail(deps, o.email as string);
    await deleteUser(deps, CLI_ACTOR, user.id);
    return `deleted ${user.email}; personal data erased, every session and API key ended`;
  }),
  "sessions revoke": withUser(async (deps, o) => {
    const user = await userByEmail(deps, o.email as string);
    const { revoked } = await revokeUserSessions(deps, CLI_ACTOR, user.id);
    return `revoked ${revoked} session(s) of ${user.email}`;
  }),
  "keys rotate": () =>
    withDeps(async (deps) => {
      const kid = await deps.keys.rotate();
      return `new signing key ${kid}; older keys stay in the JWKS until their tokens expire`;
    }),
  "keys list": () =>
    withDeps(async (deps) =>
      deps.keys
        .list()
        .map(
          (k) =>
            `${k.kid}  created ${k.createdAt.toISOString()}  ${k.signing ? "signing" : k.published ? `retired ${k.retiredAt?.toISOString()} (still published)` : "retired"}`,
        )
        .join("\n"),
    ),
  migrate: () => withDeps(async () => "database schema is up to date"),
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
    console.error(`warden: ${sentence} (see warden --help)`);
    return 2;
  }
  const { values, positionals } = parsed;
  const name = positionals.slice(0, positionals[0] === "migrate" ? 1 : 2).join(" ");
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
    console.log(await command(values));
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) console.error(`warden: invalid configuration: ${problem}`);
      return 78;
    }
    if (error instanceof UsageError) {
      console.error(`warden: ${error.message} (see warden --help)`);
      return 2;
    }
    if (error instanceof CommandError || error instanceof AccountError) {
      console.error(`warden: ${error.message}`);
      return 1;
    }
    console.error(`warden: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
