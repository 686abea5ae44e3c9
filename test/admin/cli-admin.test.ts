/** The CLI's admin commands, spawned as an operator runs them, against a temp SQLite file. */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, test } from "node:test";
import { run, scratchEnv } from "../helpers/process.js";
import { postJson, startWarden } from "../helpers/warden.js";

const scratch = scratchEnv();
const warden = (...args: string[]) => run(process.execPath, ["bin/warden.mjs", ...args], { env: scratch.env });
/** `printf '%s\n' "$PASSWORD" | warden user create ...`: the CLI takes passwords on stdin only. */
const create = (...args: string[]) =>
  run(process.execPath, ["bin/warden.mjs", "user", "create", ...args], {
    env: scratch.env,
    input: "a long passphrase\n",
  });
after(() => scratch.cleanup());

test("CLI: --version, --role admin stored as ROLE_ADMIN, user list/show/delete, sessions revoke, usage errors exit 2", async () => {
  const version = await warden("--version");
  assert.equal(version.code, 0);
  const pkg = JSON.parse(fs.readFileSync("package.json", "utf8")) as { version: string };
  assert.equal(version.stdout, `warden ${pkg.version}\n`);

  for (const args of [
    ["user", "show"],
    ["user", "delete"],
    ["sessions", "revoke"],
    ["user", "deactivate"],
    ["user", "list", "--status", "asleep"],
    ["user", "import"],
    ["keys", "revoke"],
  ]) {
    const r = await warden(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^warden: .* \(see warden --help\)\n$/);
  }

  assert.equal((await warden("migrate")).code, 0);
  const created = await create("--email", "root@example.com", "--role", "admin");
  assert.equal(created.code, 0, created.stderr);
  assert.equal((await create("--email", "ann@example.com")).code, 0);
  const shown = await warden("user", "show", "--email", "ROOT@example.com");
  assert.equal(shown.code, 0, shown.stderr);
  assert.deepEqual(JSON.parse(shown.stdout).roles, ["ROLE_USER", "ROLE_ADMIN"]);

  const list = await warden("user", "list", "--email", "a");
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^ann@example\.com\s+\S+\s+active\s+ROLE_USER\s/);
  assert.equal(list.stdout.trim().split("\n").length, 1);

  // A live session, then revoked from the shell; the server sees it at the next request.
  const w = await startWarden({
    databaseUrl: scratch.env.DATABASE_URL,
    env: { WARDEN_SECRET: scratch.env.WARDEN_SECRET },
  });
  try {
    const login = await postJson(w.app, "/api/auth", { email: "ann@example.com", password: "a long passphrase" });
    assert.equal(login.status, 200);
    const revoked = await warden("sessions", "revoke", "--email", "ann@example.com");
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(revoked.stdout, "revoked 1 session(s) of ann@example.com\n");
    const me = await w.app.inject({ url: "/api/v1/me", headers: { authorization: `Bearer ${login.body.token}` } });
    assert.equal(me.statusCode, 401);

    const deleted = await warden("user", "delete", "--email", "ann@example.com");
    assert.equal(deleted.code, 0, deleted.stderr);
    const again = await postJson(w.app, "/api/auth", { email: "ann@example.com", password: "a long passphrase" });
    assert.equal(again.status, 401);
    const events = await w.deps.eventSearch.search({ type: "admin_user_deleted", limit: 10 });
    assert.equal(events.length, 1);
    assert.equal(events[0]!.userAgent, "warden-cli", "the CLI is named as the actor");
  } finally {
    await w.close();
  }
  const gone = await warden("user", "show", "--email", "ann@example.com");
  assert.deepEqual([gone.code, gone.stderr], [1, "warden: no user with email ann@example.com\n"]);
  assert.deepEqual((await warden("user", "list", "--status", "deleted")).stdout.split("  ")[2], "deleted");
});

test("CLI: user set-email moves an account to another address (a typo at sign-up); taken, malformed and unchanged ones are refused", async () => {
  assert.equal((await warden("migrate")).code, 0);
  assert.equal((await create("--email", "tpyo@example.com", "--unconfirmed")).code, 0);
  assert.equal((await create("--email", "other@example.com")).code, 0);
  const missing = await warden("user", "set-email", "--email", "tpyo@example.com");
  assert.equal(missing.code, 2, "--new is required");

  for (const [target, message] of [
    ["other@example.com", "warden: a user with email other@example.com already exists\n"],
    ["not an address", 'warden: "not an address" is not a valid email address\n'],
    ["TPYO@example.com", "warden: tpyo@example.com is already the address of this account\n"],
  ]) {
    const refused = await warden("user", "set-email", "--email", "tpyo@example.com", "--new", target!);
    assert.deepEqual([refused.code, refused.stderr], [1, message]);
  }

  const moved = await warden("user", "set-email", "--email", "tpyo@example.com", "--new", "Typo@Example.com");
  assert.equal(moved.code, 0, moved.stderr);
  assert.equal(moved.stdout, "tpyo@example.com is now typo@example.com; the old address was told\n");
  const w = await startWarden({
    databaseUrl: scratch.env.DATABASE_URL,
    env: { WARDEN_SECRET: scratch.env.WARDEN_SECRET },
  });
  try {
    // The operator vouched for the new address: it signs in (it was unconfirmed); the old one does not.
    const login = await postJson(w.app, "/api/auth", { email: "typo@example.com", password: "a long passphrase" });
    assert.equal(login.status, 200, login.raw);
    const old = await postJson(w.app, "/api/auth", { email: "tpyo@example.com", password: "a long passphrase" });
    assert.equal(old.status, 401);
    const events = await w.deps.eventSearch.search({ type: "email_changed", limit: 10 });
    assert.deepEqual(
      events.map((e) => [e.detail, e.userAgent]),
      [[{ by: "admin" }, "warden-cli"]],
    );
  } finally {
    await w.close();
  }
});
