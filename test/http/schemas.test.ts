/**
 * Route schemas compile on a route's first request (http/deferred-schemas.ts), so a schema that
 * does not compile would only show there: this compiles every schema of the whole app, and checks
 * that deferring changed nothing a client sees (validation errors, response filtering).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import Fastify from "fastify";
import { compileDeferredSchemas, deferredSchemaCompilers } from "../../src/http/deferred-schemas.js";
import { startWarden } from "../helpers/warden.js";

test("every route's request and response schemas compile", async () => {
  const w = await startWarden();
  try {
    // Compilers, and validators and serializers of ~100 routes: well over a hundred.
    assert.ok(compileDeferredSchemas(w.app) > 100);
    assert.equal(compileDeferredSchemas(w.app), 0);
  } finally {
    await w.close();
  }
});

test("a schema that does not compile is found by compileDeferredSchemas, and fails only its route", async () => {
  const schemas = deferredSchemaCompilers();
  const app = Fastify({ schemaController: { compilersFactory: schemas.compilersFactory } });
  schemas.attachTo(app);
  app.post("/broken", { schema: { body: { type: "object", properties: { a: { type: "no-such-type" } } } } }, () => "x");
  app.get("/fine", () => "ok");
  await app.ready();
  assert.equal((await app.inject({ url: "/fine" })).statusCode, 200);
  assert.equal((await app.inject({ method: "POST", url: "/broken", payload: {} })).statusCode, 500);
  assert.throws(() => compileDeferredSchemas(app), /no-such-type|type must be/);
  await app.close();
});

test("deferred compilers validate, report errors and filter responses as Fastify's own do", async () => {
  const build = async (deferred: boolean) => {
    const schemas = deferredSchemaCompilers();
    const app = Fastify({
      ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true } },
      ...(deferred ? { schemaController: { compilersFactory: schemas.compilersFactory } } : {}),
    });
    app.post(
      "/r/:id",
      {
        schema: {
          params: { type: "object", properties: { id: { type: "string", pattern: "^[a-z]+$" } } },
          querystring: { type: "object", properties: { n: { type: "string", maxLength: 2 } } },
          headers: { type: "object", properties: { "x-platform": { type: "string", enum: ["ios", "web"] } } },
          body: {
            type: "object",
            required: ["a", "b"],
            properties: { a: { type: "string", minLength: 3 }, b: { type: "integer" } },
          },
          response: { 200: { type: "object", properties: { kept: { type: "string" } } } },
        },
      },
      async () => ({ kept: "yes", dropped: "secret" }),
    );
    await app.ready();
    return app;
  };
  const requests = [
    { method: "POST" as const, url: "/r/abc", payload: { a: "abcd", b: 1 } },
    { method: "POST" as const, url: "/r/abc", payload: { a: "ab", b: "1" } },
    { method: "POST" as const, url: "/r/ABC", payload: { a: "abcd", b: 1 } },
    { method: "POST" as const, url: "/r/abc?n=long", payload: { a: "abcd", b: 1 } },
    { method: "POST" as const, url: "/r/abc", headers: { "X-Platform": "tv" }, payload: { a: "abcd", b: 1 } },
    { method: "POST" as const, url: "/r/abc", payload: { a: 5 } },
  ];
  const eager = await build(false);
  const deferred = await build(true);
  for (const request of requests) {
    const [a, b] = [await eager.inject(request), await deferred.inject(request)];
    assert.equal(b.statusCode, a.statusCode, JSON.stringify(request));
    assert.equal(b.body, a.body, JSON.stringify(request));
  }
  assert.equal((await deferred.inject(requests[0]!)).body, '{"kept":"yes"}');
  await eager.close();
  await deferred.close();
});

test("a header schema naming a header in capitals is refused at start", async () => {
  const schemas = deferredSchemaCompilers();
  const app = Fastify({ schemaController: { compilersFactory: schemas.compilersFactory } });
  app.get(
    "/h",
    { schema: { headers: { type: "object", properties: { "X-Platform": { type: "string" } } } } },
    () => "x",
  );
  await assert.rejects(async () => app.ready(), /use lower case/);
});
