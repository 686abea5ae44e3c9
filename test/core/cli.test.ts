/** The `warden` command, spawned as a user runs it, against a temp SQLite file; then the users log in. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import * as argon2 from "@node-rs/argon2";
import * as bcrypt from "@node-rs/bcrypt";
import { decodeJwt } from "jose";
import { ROOT, run, scratchEnv } from "../helpers/process.js";
import { postJson, startWarden, type Warden } from "../helpers/warden.js";

const PASSWORD = "imported pass 42";

describe("warden CLI", () => {
  const scratch = scratchEnv();
  const warden = (...args: string[]) => run(process.execPath, ["bin/warden.mjs", ...args], { env: scratch.env });
  after(() => scratch.cleanup());

  test("usage: --help 0; unknown command 2; unknown flag or a flag without its value 2, one line, no stack", async () => {
    const [help, unknown, flag, valueless, npx] = await Promise.all([
      warden("--help"),
      warden("frobnicate", "now"),
      warden("keys", "list", "--bogus"),
      warden("user", "create", "--email"),
      // `npx warden` runs the project's own bin (package.json "bin"); --no-install so it never asks the registry.
      run("npx", ["--no-install", "warden", "--help"], { env: scratch.env }),
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
      warden("user", "create", "--email", "Alice@Example.com", "--password", PASSWORD),
      warden("user", "create", "--email", "bob@example.com", "--password", PASSWORD, "--unconfirmed"),
      warden("user", "import", "--file", json),
      warden("user", "import", "--file", csv),
      warden("keys", "rotate"),
    ]);
    assert.equal(alice.code, 0, alice.stderr);
    assert.match(alice.stdout, /^created user alice@example\.com \([0-9a-f-]{36}\)\n$/);
    assert.equal(bob.code, 0, bob.stderr);
    assert.equal(importedJson.code, 0, importedJson.stderr);
    assert.equal(
      importedJson.stdout,
      "imported 2 user(s), skipped 1\n  row 3 (md5@example.com): unsupported password hash (expected argon2 or bcrypt)\n",
    );
    assert.equal(importedCsv.code, 0, importedCsv.stderr);
    assert.equal(importedCsv.stdout, "imported 3 user(s), skipped 0\n");
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /^new signing key \S+;/);

    const [duplicate, missing, deactivated, activated, confirmed, nobody, keys] = await Promise.all([
      warden("user", "create", "--email", "alice@example.com", "--password", "another one"),
      warden("user", "create", "--email", "carol@example.com"),
      warden("user", "deactivate", "--email", "alice@example.com"),
      warden("user", "activate", "--email", "legacy.inactive@example.com"),
      warden("user", "confirm", "--email", "BOB@example.com"),
      warden("user", "deactivate", "--email", "nobody@example.com"),
      warden("keys", "list"),
    ]);
    assert.equal(duplicate.code, 1);
    assert.equal(duplicate.stderr, "warden: a user with email alice@example.com already exists\n");
    assert.equal(missing.code, 2, "a missing required option is a usage error");
    assert.equal(missing.stderr, "warden: --password is required (see warden --help)\n");
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

  describe("the server on the same database", () => {
    let w: Warden;
    before(async () => {
      w = await startWarden({
        databaseUrl: scratch.env.DATABASE_URL,
        env: { WARDEN_SECRET: scratch.env.WARDEN_SECRET!, DATA_DIR: scratch.env.DATA_DIR! },
      });
    });
    after(async () => w?.close());
    let ip = 0;
    const login = (email: string) =>
      postJson(w.app, "/api/auth", { email, password: PASSWORD }, {}, { remoteAddress: `192.0.2.${++ip}` });

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
