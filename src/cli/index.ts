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
import { resetMfa } from "../domain/factors/management.js";
import { buildDeps, type Deps } from "../deps.js";
import { createLogger } from "../log.js";
import { assertDatabaseExists, StartupError } from "../startup.js";
import { readImportFile } from "./import-file.js";

const USAGE = `usage: warden <command>

  user create --email E --password P [--unconfirmed] [--inactive] [--role ROLE ...]
  user deactivate --email E     revoke every session and block logins
  user activate --email E
  user confirm --email E        mark the email address as confirmed
  user mfa-reset --email E      turn two-factor off (user lost every factor); codes and challenges die
  user import --file F          JSON array or CSV (email,password_hash,confirmed,active[,roles])
  keys rotate                   make a new signing key the signer
  keys list
  migrate                       bring the database schema up to date

Configuration comes from the same environment variables as the server (DATABASE_URL, ...).`;

/** A failure the user can act on: printed as one line, exit code 1. */
class UsageError extends Error {}

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

const commands: Record<string, (options: Options) => Promise<string>> = {
  "user create": (o) =>
    withDeps(async (deps) => {
      if (typeof o.email !== "string" || typeof o.password !== "string")
        throw new UsageError("--email and --password are required");
      const user = await createUser(deps, {
        email: o.email,
        password: o.password,
        confirmed: !o.unconfirmed,
        active: !o.inactive,
        roles: (o.role as string[] | undefined) ?? [],
      });
      return `created user ${user.email} (${user.id})`;
    }),
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
      const lines = report.skipped.map((s) => `  row ${s.row} (${s.email || "no email"}): ${s.reason}`);
      return [`imported ${report.imported} user(s), skipped ${report.skipped.length}`, ...lines].join("\n");
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
  migrate: () => withDeps(async () => "database schema is up to date", { createDatabase: true }),
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
  const name = positionals.slice(0, positionals[0] === "migrate" ? 1 : 2).join(" ");
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
    console.log(await command(values));
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) console.error(`warden: invalid configuration: ${problem}`);
      return 78;
    }
    if (error instanceof UsageError || error instanceof AccountError || error instanceof StartupError) {
      console.error(`warden: ${error.message}`);
      return 1;
    }
    console.error(`warden: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
