/** What Fastify refuses before any route runs still answers with the contract's body, never Fastify's own. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { startWarden } from "../helpers/warden.js";

test("a URL with broken percent-encoding is a 400 with {code, message}", async () => {
  const w = await startWarden();
  try {
    for (const url of ["/health%zz", "/api/auth%", "/api/v1/me/sessions/%E0%A4%A"]) {
      const r = await w.app.inject({ method: url.startsWith("/api/auth") ? "POST" : "GET", url });
      assert.equal(r.statusCode, 400, url);
      assert.deepEqual(r.json(), { code: 400, message: "Malformed URL." }, url);
    }
  } finally {
    await w.close();
  }
});
