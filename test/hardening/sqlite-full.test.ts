/**
 * Fault: SQLite cannot grow its file (a full disk). SQLite's own SQLITE_FULL, raised by capping
 * the database at its current size (`max_page_count`), as a full disk raises it on a write.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { isStoreUnavailable } from "../../src/storage/faults.js";
import { postJson, startWarden, withBearer } from "../helpers/warden.js";

const PASSWORD = "correct horse battery staple";

test("sqlite: a full disk answers login and refresh 503 with Retry-After, spends and half-writes nothing, and recovers", async () => {
  const w = await startWarden({ env: { LOGIN_RATE_LIMIT: "1000/60", REFRESH_RATE_LIMIT: "1000/60" } });
  try {
    const user = await w.createUser("ana@example.com", PASSWORD);
    const login = () => postJson(w.app, "/api/auth", { email: "ana@example.com", password: PASSWORD });
    const first = await login();
    assert.equal(first.status, 200);
    const sqlite = w.deps.database.sqlite!;
    const sessionsBefore = await w.deps.sessions.listLiveSessions(user.id, new Date(), new Date(0));

    sqlite.pragma(`max_page_count = ${sqlite.pragma("page_count", { simple: true })}`);
    // Logins fill what the last pages still hold, then meet the full file.
    let full;
    for (let i = 0; i < 200 && !full; i++) {
      const answer = await login();
      if (answer.status !== 200) full = answer;
    }
    assert.ok(full, "the capped file filled up");
    assert.equal(full.status, 503, full.raw);
    assert.equal(full.body.message, "The service is temporarily unavailable. Please try again shortly.");
    assert.equal(full.headers["retry-after"], "5");
    const refused = await postJson(w.app, "/api/auth/token/refresh", { refresh_token: first.body.refresh_token });
    assert.equal(refused.status, 503, refused.raw);
    assert.ok(
      w.logLines.some((line) => line.includes('"level":40') && line.includes("database or disk is full")),
      "the log says why",
    );
    // A read still works: the user's token is honoured meanwhile.
    assert.equal((await withBearer(w, first.body.token, { method: "GET", url: "/api/v1/me" })).status, 200);
    // Nothing was half-written: each session that exists has its refresh token (the failed
    // transactions left no session behind), and SQLite is out of the failed transaction.
    assert.equal(sqlite.inTransaction, false);
    const orphans = sqlite
      .prepare(
        "select count(*) as n from sessions s where not exists (select 1 from refresh_tokens t where t.session_id = s.id)",
      )
      .get() as { n: number };
    assert.equal(orphans.n, 0);
    assert.ok(
      (await w.deps.sessions.listLiveSessions(user.id, new Date(), new Date(0))).length > sessionsBefore.length,
    );

    sqlite.pragma("max_page_count = 1073741823");
    // The refresh token the refused refresh carried was not spent: the client carries on.
    const refreshed = await postJson(w.app, "/api/auth/token/refresh", { refresh_token: first.body.refresh_token });
    assert.equal(refreshed.status, 200, refreshed.raw);
    assert.equal((await login()).status, 200);
  } finally {
    await w.close();
  }
});

test("what counts as a store that is away: SQLite's and PostgreSQL's codes for a full disk, I/O errors, a read-only file", () => {
  const coded = (code: string) => Object.assign(new Error("x"), { code });
  for (const code of [
    "SQLITE_FULL",
    "SQLITE_IOERR",
    "SQLITE_IOERR_WRITE",
    "SQLITE_READONLY_DBMOVED",
    "SQLITE_BUSY_SNAPSHOT",
  ])
    assert.equal(isStoreUnavailable(coded(code)), true, code);
  for (const code of ["53100", "53200", "58030", "08006", "57P01"])
    assert.equal(isStoreUnavailable(coded(code)), true, code);
  // A bug or a refused write is not an outage: the client must not retry it.
  for (const code of ["SQLITE_CONSTRAINT_UNIQUE", "SQLITE_ERROR", "SQLITE_BUSYNESS", "23505", "42P01"])
    assert.equal(isStoreUnavailable(coded(code)), false, code);
});
