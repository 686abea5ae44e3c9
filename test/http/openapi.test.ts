/**
 * /openapi.json is lint-clean under Redocly's recommended rules (the same check as
 * `npx @redocly/cli lint`, through its core library), and every operation is usable from a
 * generated client: an operationId, security stated, an example for every request body.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { lintFromString, loadConfig } from "@redocly/openapi-core";
import { ROOT } from "../helpers/process.js";
import { startWarden } from "../helpers/warden.js";

async function openapiDocument(env: Record<string, string> = {}) {
  const w = await startWarden({ env });
  try {
    const r = await w.app.inject({ url: "/openapi.json" });
    assert.equal(r.statusCode, 200);
    return r.json();
  } finally {
    await w.close();
  }
}

type Operation = {
  operationId?: string;
  security?: unknown[];
  requestBody?: { content: Record<string, { schema: unknown; example?: unknown; examples?: unknown }> };
};

function operations(doc: { paths: Record<string, Record<string, Operation>> }) {
  return Object.entries(doc.paths).flatMap(([url, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ name: `${method.toUpperCase()} ${url}`, operation })),
  );
}

test("/openapi.json has no error and no warning under Redocly's recommended rules", async () => {
  const doc = await openapiDocument();
  const config = await loadConfig({ configPath: path.join(ROOT, "redocly.yaml") });
  const problems = await lintFromString({
    source: JSON.stringify(doc),
    absoluteRef: path.join(ROOT, "openapi.json"),
    config,
  });
  const shown = problems
    .filter((p) => !p.ignored)
    .map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`);
  assert.deepEqual(shown, []);
});

test("every operation has an operationId, states its security, and shows an example body", async () => {
  const doc = await openapiDocument();
  const missing: string[] = [];
  const ids = new Set<string>();
  for (const { name, operation } of operations(doc)) {
    if (!operation.operationId) missing.push(`${name}: no operationId`);
    else if (ids.has(operation.operationId)) missing.push(`${name}: operationId ${operation.operationId} twice`);
    else ids.add(operation.operationId);
    if (!operation.security) missing.push(`${name}: security not stated`);
    for (const [type, media] of Object.entries(operation.requestBody?.content ?? {}))
      if (media.example === undefined && media.examples === undefined) missing.push(`${name}: no ${type} example`);
  }
  assert.deepEqual(missing, []);
  assert.ok(ids.has("login") && ids.has("refreshToken"), "the core operations are named");
});

test("the document names the package version, its license and a server", async () => {
  const doc = await openapiDocument();
  const pkg = (await import("../../package.json", { with: { type: "json" } })).default;
  assert.equal(doc.info.version, pkg.version);
  assert.equal(doc.info.license.name, "MIT");
  assert.equal(doc.servers[0].url, "http://warden.test");
  // Warden's own address, not the app's the mails link to: "Try it out" calls the API.
  const withApp = await openapiDocument({ APP_URL: "https://app.example.com" });
  assert.deepEqual(withApp.servers, [{ url: "http://warden.test" }]);
});

test("GET /docs renders the document from files Warden serves itself, under a CSP that allows no other host", async () => {
  const w = await startWarden();
  try {
    const page = await w.app.inject({ url: "/docs/" });
    assert.equal(page.statusCode, 200);
    assert.match(page.headers["content-type"] as string, /^text\/html/);
    const csp = page.headers["content-security-policy"] as string;
    assert.match(csp, /default-src 'self'/);
    assert.doesNotMatch(csp, /https:|\*/, "no source beyond the host itself");
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    assert.ok(assets.length >= 3, "the page loads its script and styles");
    for (const asset of assets) {
      assert.doesNotMatch(asset, /^(https?:)?\/\//, `${asset} is served by Warden`);
      const r = await w.app.inject({ url: new URL(asset, "http://warden.test/docs/").pathname });
      assert.equal(r.statusCode, 200, asset);
    }
    const spec = await w.app.inject({ url: "/docs/json" });
    assert.equal(spec.json().info.title, "Warden");
  } finally {
    await w.close();
  }
});
