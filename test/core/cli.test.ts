/** The `warden` command, spawned as a user runs it, against a temp SQLite file; then the users log in. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import * as argon2 from "@node-rs/argon2";
import * as bcrypt from "@node-rs/bcrypt";
import { decodeJwt } from "jose";
import { PASSWORD, postLogin } from "../helpers/login.js";
import { ROOT, run, scratchEnv } from "../helpers/process.js";
import { postJson, startWarden, type Warden } from "../helpers/warden.js";

describe("warden CLI", () => {
  const scratch = scratchEnv();
  const warden = (...args: string[]) => run(process.execPath, ["bin/warden.mjs", ...args], { env: scratch.env });
  /** `warden ...` with `input` piped on stdin, as `printf '%s\n' "$PASSWORD" | warden ...` does. */
  const wardenWithInput = (input: string, ...args: string[]) =>
    run(process.execPath, ["bin/warden.mjs", ...args], { env: scratch.env, input });
  after(() => scratch.cleanup());

  test("usage: --help 0; unknown command 2; unknown flag or a flag without its value 2, one line, no stack", async () => {
    const [help, unknown, flag, valueless, npx] = await Promise.all([
      warden("--help"),
      warden("frobnicate", "now"),
      warden("keys", "list", "--bogus"),
      warden("user", "create", "--email"),
      // `npx warden` runs the project's own bin (package.json "bin"); --no-install so it never asks the registry.
      // npx links the project into its cache (running `prepare`, a no-op on an up-to-date build): a cache of
      // our own keeps the user's ~/.npm out of it.
      run("npx", ["--no-install", "warden", "--help"], {
        env: { ...scratch.env, npm_config_cache: path.join(scratch.dir, "npm-cache") },
      }),
    ]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: warden <command>/);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^warden: unknown command "frobnicate now"\n/);
    assert.equal(flag.code, 2);
    assert.equal(flag.stderr, "warden: Unknown option '--bogus' (see warden --help)\n");
    assert.equal(valueless.code, 2);
    assert.match(valueless.stderr, /^warden: Option '--email <value>' argument missing/);
    assert.doesNotMatch(flag.stderr + valueless.stderr, /\n\s+at /, "no stack trace");
    assert.equal(npx.code, 0, npx.stderr);
    assert.match(npx.stdout, /^usage: warden <command>/);
  });

  test("migrate, then create, import and rotate; then deactivate, activate, confirm and list", async () => {
    const migrate = await warden("migrate");
    assert.equal(migrate.code, 0, migrate.stderr);
    assert.equal(migrate.stdout, "database schema is up to date\n");

    const bcrypt2y = (await bcrypt.hash(PASSWORD, 4)).replace(/^\$2b\$/, "$2y$");
    const argon2i = await argon2.hash(PASSWORD, {
      algorithm: argon2.Algorithm.Argon2i,
      memoryCost: 4096,
      timeCost: 3,
      parallelism: 1,
    });
    const argon2idLow = await argon2.hash(PASSWORD, {
      algorithm: argon2.Algorithm.Argon2id,
      memoryCost: 8192,
      timeCost: 2,
      parallelism: 1,
    });
    const json = path.join(scratch.dir, "users.json");
    fs.writeFileSync(
      json,
      JSON.stringify([
        {
          email: "Legacy.Bcrypt@example.com",
          password: bcrypt2y,
          confirmed: true,
          active: true,
          roles: ["ROLE_ADMIN"],
        },
        { email: "legacy.inactive@example.com", password_hash: argon2i, confirmed: 1, active: 0 },
        { email: "md5@example.com", password_hash: "5f4dcc3b5aa765d61d8327deb882cf99", confirmed: true, active: true },
      ]),
    );
    const csv = path.join(scratch.dir, "users.csv");
    // argon2 hashes hold commas (m=...,t=...,p=...): such fields are quoted, as any CSV writer does.
    fs.writeFileSync(
      csv,
      [
        "email,password_hash,confirmed,active",
        `csv.argon@example.com,"${argon2idLow}",true,true`,
        `csv.bcrypt@example.com,${await bcrypt.hash(PASSWORD, 4)},1,1`,
        `csv.unconfirmed@example.com,"${argon2i}",0,1`,
      ].join("\n"),
    );

    const [alice, bob, importedJson, importedCsv, rotated] = await Promise.all([
      wardenWithInput(`${PASSWORD}\n`, "user", "create", "--email", "Alice@Example.com"),
      wardenWithInput(PASSWORD, "user", "create", "--email", "bob@example.com", "--unconfirmed"),
      warden("user", "import", "--file", json),
      warden("user", "import", "--file", csv),
      warden("keys", "rotate"),
    ]);
    assert.equal(alice.code, 0, alice.stderr);
    assert.match(alice.stdout, /^created user alice@example\.com \([0-9a-f-]{36}\)\n$/);
    assert.equal(bob.code, 0, bob.stderr);
    assert.equal(importedJson.code, 1, "a skipped row makes the import exit 1");
    assert.equal(
      importedJson.stdout,
      "imported 2 user(s), skipped 1\n  entry 3 (md5@example.com): unsupported password hash (expected argon2 or bcrypt)\n",
    );
    assert.equal(importedCsv.code, 0, importedCsv.stderr);
    assert.equal(importedCsv.stdout, "imported 3 user(s), skipped 0\n");
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /^new signing key \S+;/);

    const [duplicate, missing, inArgv, deactivated, activated, confirmed, nobody, keys] = await Promise.all([
      wardenWithInput("another one\n", "user", "create", "--email", "alice@example.com"),
      warden("user", "create", "--email", "carol@example.com"),
      warden("user", "create", "--email", "carol@example.com", "--password", "in plain sight"),
      warden("user", "deactivate", "--email", "alice@example.com"),
      warden("user", "activate", "--email", "legacy.inactive@example.com"),
      warden("user", "confirm", "--email", "BOB@example.com"),
      warden("user", "deactivate", "--email", "nobody@example.com"),
      warden("keys", "list"),
    ]);
    assert.equal(duplicate.code, 1);
    assert.equal(duplicate.stderr, "warden: a user with email alice@example.com already exists\n");
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, "warden: no password given (pipe it on standard input or type it at the prompt)\n");
    assert.equal(inArgv.code, 2);
    assert.match(inArgv.stderr, /^warden: --password is not accepted: a password on the command line shows in ps/);
    assert.doesNotMatch(inArgv.stdout + inArgv.stderr, /in plain sight/);
    assert.equal(deactivated.code, 0, deactivated.stderr);
    assert.match(deactivated.stdout, /^deactivated alice@example\.com/);
    assert.equal(activated.code, 0, activated.stderr);
    assert.equal(confirmed.code, 0, confirmed.stderr);
    assert.equal(confirmed.stdout, "confirmed bob@example.com\n");
    assert.equal(nobody.code, 1);
    assert.equal(nobody.stderr, "warden: no user with email nobody@example.com\n");
    assert.equal(keys.code, 0, keys.stderr);
    const lines = keys.stdout.trim().split("\n");
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /retired .* \(still published\)$/);
    assert.match(lines[1]!, new RegExp(`^${rotated.stdout.split(" ")[3]!.replace(";", "")}\\s.*signing$`));
  });

  test("import judges every row: good rows go in, each bad one is named by line and reason, exit 1", async () => {
    const good = await argon2.hash(PASSWORD, {
      algorithm: argon2.Algorithm.Argon2id,
      memoryCost: 8192,
      timeCost: 2,
      parallelism: 1,
    });
    const csv = path.join(scratch.dir, "mixed.csv");
    fs.writeFileSync(
      csv,
      [
        "email,password_hash,confirmed,active",
        `row.good@example.com,"${good}",true,true`,
        "row.short@example.com,abc",
        `row.maybe@example.com,"${good}",maybe,true`,
        `row.malformed@example.com,"$argon2id$v=19$m=19456,t=2,p=1$%%%$xyz",true,true`,
        `row.huge@example.com,"$argon2id$v=19$m=1048576,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY",1,1`,
        `row.bcrypt@example.com,${await bcrypt.hash(PASSWORD, 4)},yes,no`,
        "not-an-email,$2b$04$abcdefghijklmnopqrstuv,1,1",
      ].join("\n"),
    );
    const r = await warden("user", "import", "--file", csv);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      r.stdout,
      [
        "imported 2 user(s), skipped 5",
        "  line 3 (row.short@example.com): expected 4 fields (email,password_hash,confirmed,active), found 2",
        '  line 4 (row.maybe@example.com): confirmed must be true or false (1/0, yes/no), got "maybe"',
        "  line 5 (row.malformed@example.com): malformed argon2 hash",
        "  line 6 (row.huge@example.com): argon2 memory m=1048576 KiB is over the limit of 65536",
        "  line 8 (not-an-email): invalid email",
        "",
      ].join("\n"),
    );
    // A file that imports cleanly exits 0.
    const clean = path.join(scratch.dir, "clean.json");
    fs.writeFileSync(
      clean,
      JSON.stringify([{ email: "row.clean@example.com", password_hash: good, confirmed: false }]),
    );
    const ok = await warden("user", "import", "--file", clean);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal(ok.stdout, "imported 1 user(s), skipped 0\n");
  });

  describe("the server on the same database", () => {
    let w: Warden;
    before(async () => {
      w = await startWarden({
        databaseUrl: scratch.env.DATABASE_URL,
        env: { WARDEN_SECRET: scratch.env.WARDEN_SECRET!, DATA_DIR: scratch.env.DATA_DIR! },
      });
    });
    after(async () => w?.close());
    const login = (email: string) => postLogin(w, email);

    test("`user confirm` goes through the domain and is recorded as the user's security event", async () => {
      const bob = await w.deps.users.findByEmail("bob@example.com");
      assert.ok(bob?.emailConfirmedAt, "confirmed");
      const events = await w.deps.events.listForUser(bob.id, 20);
      assert.ok(events.some((e) => e.type === "email_confirmed" && e.detail?.by === "admin"));
    });

    test("imported and created users log in as their flags say", async () => {
      const expected: Array<[string, number]> = [
        ["legacy.bcrypt@example.com", 200],
        ["legacy.inactive@example.com", 200],
        ["csv.argon@example.com", 200],
        ["csv.bcrypt@example.com", 200],
        ["csv.unconfirmed@example.com", 403],
        ["bob@example.com", 200],
        ["alice@example.com", 403],
        ["md5@example.com", 401],
        ["row.good@example.com", 200],
        ["row.bcrypt@example.com", 403],
        ["row.maybe@example.com", 401],
      ];
      for (const [email, status] of expected) assert.equal((await login(email)).status, status, email);
      const admin = await login("legacy.bcrypt@example.com");
      assert.deepEqual(decodeJwt(admin.body.token).roles, ["ROLE_USER", "ROLE_ADMIN"]);
      assert.equal(
        (await login("alice@example.com")).body.message,
        "Your account has been deactivated. Please contact support.",
      );
    });
  });

  test("the CLI reads the same configuration: a bad variable is named, exit 78", async () => {
    const r = await run(process.execPath, [path.join(ROOT, "bin/warden.mjs"), "keys", "list"], {
      env: { ...scratch.env, DATABASE_URL: "mysql://x" },
    });
    assert.equal(r.code, 78);
    assert.match(r.stderr, /^warden: invalid configuration: DATABASE_URL: /);
  });
});
