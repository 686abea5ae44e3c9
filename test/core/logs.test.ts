/** Structured logs with a request id, and no secret in any line; 5xx bodies carry the id and nothing else. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { PASSWORD, postLogin } from "../helpers/login.js";
import { postJson, startWarden } from "../helpers/warden.js";

test("no log line holds a password, a token, a password hash or a private key", async () => {
  const w = await startWarden({ env: { LOG_LEVEL: "trace" } });
  try {
    const user = await w.createUser("logs@example.com", PASSWORD);
    const ok = await postLogin(w, "logs@example.com", PASSWORD);
    assert.equal(ok.status, 200);
    const failed = await postJson(w.app, "/api/auth", { email: "logs@example.com", password: `${PASSWORD}-wrong` });
    assert.equal(failed.status, 401);
    const withBearer = await postJson(
      w.app,
      "/api/auth",
      { email: "logs@example.com", password: PASSWORD },
      { authorization: `Bearer ${ok.body.token}` },
    );
    assert.equal(withBearer.status, 200);
    await w.app.inject({
      url: "/.well-known/jwks.json",
      headers: { authorization: `Bearer ${withBearer.body.token}` },
    });
    const malformed = await postJson(w.app, "/api/auth", `{"email":"logs@example.com","password":"${PASSWORD}"`);
    assert.equal(malformed.status, 400);
    // Mail links carry their single-use token in the query; the pages they open are logged by path.
    const mailed = "Q3fWk9s2pLx7VbN0cR4tYh8mJz1uE6gAoKdS5iTnM0e";
    for (const page of ["/reset-password", "/confirm-email"]) {
      assert.equal((await w.app.inject({ url: `${page}?lang=en&token=${mailed}` })).statusCode, 200);
      assert.ok(
        w.logLines.some((line) => line.includes(`"url":"${page}?lang=[redacted]&token=[redacted]"`)),
        `${page} is logged without its query values`,
      );
    }

    const log = w.logLines.join("");
    assert.ok(w.logLines.length >= 8, "requests were logged");
    const secrets = [
      PASSWORD,
      ok.body.token,
      ok.body.refresh_token,
      withBearer.body.token,
      withBearer.body.refresh_token,
      user.passwordHash,
      mailed,
      "PRIVATE KEY",
    ];
    for (const secret of secrets)
      assert.equal(log.includes(secret), false, `a log line holds ${secret.slice(0, 12)}...`);
    for (const line of w.logLines) JSON.parse(line); // every line is JSON
  } finally {
    await w.close();
  }
});

test("every response carries x-request-id; an unexpected 5xx gives the id, no stack, no SQL, and logs the same id", async () => {
  const w = await startWarden();
  try {
    const health = await w.app.inject({ url: "/healthz" });
    assert.match(String(health.headers["x-request-id"]), /^[0-9a-f-]{36}$/);
    const other = await w.app.inject({ url: "/healthz" });
    assert.notEqual(other.headers["x-request-id"], health.headers["x-request-id"]);
    const spoofed = await w.app.inject({ url: "/healthz", headers: { "x-request-id": "client-chosen" } });
    assert.notEqual(spoofed.headers["x-request-id"], "client-chosen", "the id is Warden's own");

    await w.deps.database.close(); // the database goes away under a request
    const r = await postLogin(w, "x@example.com", PASSWORD);
    assert.equal(r.status, 500);
    const id = String(r.headers["x-request-id"]);
    assert.deepEqual(r.body, { code: 500, message: "Internal server error.", requestId: id });
    assert.doesNotMatch(r.raw, /stack|select|at \w+ \(/i);
    const logged = w.logLines.map((line) => JSON.parse(line)).find((line) => line.msg === "unhandled error");
    assert.equal(logged?.reqId, id);
    assert.ok(!w.logLines.join("").includes(PASSWORD));
  } finally {
    await w.close().catch(() => {});
  }
});
