import assert from "node:assert/strict";
import { test } from "node:test";
import { postJson, startWarden } from "./helpers/warden.js";

test("a confirmed user logs in; a wrong password gets the seed's 401 body", async () => {
  const w = await startWarden();
  try {
    await w.createUser("Alice@Example.com", "correct horse battery");
    const ok = await postJson(w.app, "/api/auth", { email: "alice@example.com", password: "correct horse battery" });
    assert.equal(ok.status, 200, ok.raw);
    assert.deepEqual(Object.keys(ok.body), ["token", "refresh_token"]);
    const bad = await postJson(w.app, "/api/auth", { email: "alice@example.com", password: "nope" });
    assert.equal(bad.raw, '{"code":401,"message":"Invalid credentials."}');
  } finally {
    await w.close();
  }
});
