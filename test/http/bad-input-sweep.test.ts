/**
 * Every operation of the published OpenAPI document, fed what a broken or hostile client sends:
 * bodies that are not objects or not JSON, each field in turn (and all at once) of the wrong
 * type or absurd, path and query parameters that are no id at all, other content types; with an
 * administrator's token and without one. Each answer is below 500 and, when it refuses, carries
 * the contract's body. On both engines: PostgreSQL refuses a malformed uuid or an out-of-range
 * integer where SQLite stores it, and such an error must never reach a client as a 500.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { userWithToken } from "../api-keys/fixtures.js";
import { engines } from "../helpers/engines.js";
import { startWarden, type Warden } from "../helpers/warden.js";

const FIELD_VALUES: unknown[] = [
  12345,
  -1,
  1e308,
  true,
  null,
  {},
  [],
  "",
  "x".repeat(5000),
  "\u0000",
  "' OR 1=1 --",
  "𝕏",
  "00000000-0000-0000-0000-000000000000",
  { $gt: "" },
];
const RAW_BODIES = ["[]", '"x"', "null", "123", "{}", "{", '{"a":1}{', "", "\u0000"];
const PARAMETERS = [
  "x",
  "%00",
  "0",
  "-1",
  "a".repeat(300),
  "00000000-0000-0000-0000-000000000000",
  "1e400",
  "..%2F..%2Fetc",
  "%F0%9F%98%80",
  "9999999999999999999999",
];
/** Limits out of the way: a 429 would hide what comes after it. */
const NO_LIMITS = Object.fromEntries(
  [
    "LOGIN_RATE_LIMIT",
    "REGISTER_RATE_LIMIT",
    "MFA_RATE_LIMIT",
    "REFRESH_RATE_LIMIT",
    "PASSWORD_RESET_RATE_LIMIT",
    "REAUTH_RATE_LIMIT",
    "OAUTH_LOGIN_RATE_LIMIT",
    "API_KEY_RATE_LIMIT",
    "ACCOUNT_FAILURE_LIMIT",
  ].map((name) => [name, "1000000/60"]),
);

interface Operation {
  method: string;
  path: string;
  bodyFields: string[] | null;
  pathParameters: boolean;
  query: string[];
}

function operationsOf(document: {
  paths: Record<string, Record<string, { requestBody?: any; parameters?: Array<{ in: string; name: string }> }>>;
}): Operation[] {
  return Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, operation]) => {
      const schema = operation.requestBody?.content?.["application/json"]?.schema;
      const parameters = operation.parameters ?? [];
      return {
        method: method.toUpperCase(),
        path,
        bodyFields: schema ? Object.keys(schema.properties ?? {}) : null,
        pathParameters: parameters.some((p) => p.in === "path"),
        query: parameters.filter((p) => p.in === "query").map((p) => p.name),
      };
    }),
  );
}

for (const { engine, skip } of engines) {
  test(
    `${engine.name}: no input to any operation gets a 5xx or an answer without the contract's body`,
    { skip },
    async () => {
      const w: Warden = await startWarden({ engine, env: NO_LIMITS });
      try {
        let admin = await userWithToken(w, "root@example.com", ["ROLE_ADMIN"]);
        let sent = 0;
        const problems: string[] = [];
        const send = async (
          method: string,
          url: string,
          withToken: boolean,
          payload?: string,
          type = "application/json",
        ) => {
          const headers: Record<string, string> = {};
          if (withToken) headers.authorization = `Bearer ${admin.token}`;
          if (payload !== undefined) headers["content-type"] = type;
          const response = await w.app.inject({ method: method as "GET", url, headers, payload });
          sent++;
          const status = response.statusCode;
          let body: { code?: unknown; message?: unknown; error?: unknown } | undefined;
          try {
            body = response.json();
          } catch {
            body = undefined;
          }
          // The contract's {code, message}; the OAuth-style endpoints answer {error, error_description}.
          const contractBody = body && ((body.code === status && typeof body.message === "string") || body.error);
          if (status >= 500 || (status >= 400 && !contractBody)) {
            problems.push(
              `${method} ${url} ${String(payload).slice(0, 60)} -> ${status} ${response.body.slice(0, 160)}`,
            );
          }
          // An operation that deleted the administrator (DELETE /me with a body that passed): a new one.
          if (status === 401 && withToken) admin = await userWithToken(w, `root${sent}@example.com`, ["ROLE_ADMIN"]);
          return status;
        };

        const operations = operationsOf((await w.app.inject({ url: "/openapi.json" })).json());
        const refusedNonObject: string[] = [];
        for (const operation of operations) {
          const urls = operation.pathParameters
            ? PARAMETERS.map((value) => operation.path.replace(/\{[^}]+\}/g, value))
            : [operation.path];
          for (const [index, url] of urls.entries()) {
            for (const withToken of [true, false]) {
              if (!operation.bodyFields) {
                await send(operation.method, url, withToken);
                for (const name of operation.query)
                  for (const value of PARAMETERS) await send(operation.method, `${url}?${name}=${value}`, withToken);
                continue;
              }
              for (const raw of RAW_BODIES) {
                const status = await send(operation.method, url, withToken, raw);
                if (raw === "[]" && withToken && index === 0 && status === 400) refusedNonObject.push(operation.path);
              }
              await send(operation.method, url, withToken, "a=b", "application/x-www-form-urlencoded");
              await send(operation.method, url, withToken, "a", "text/plain");
              if (index > 0) continue; // each field's values once per operation, not once per path value
              for (const value of FIELD_VALUES) {
                for (const field of operation.bodyFields)
                  await send(operation.method, url, withToken, JSON.stringify({ [field]: value }));
                const all = Object.fromEntries(operation.bodyFields.map((field) => [field, value]));
                await send(operation.method, url, withToken, JSON.stringify(all));
              }
            }
          }
        }
        assert.deepEqual(problems, [], `${problems.length} of ${sent} requests`);
        // The sweep reached the routes' own validation, not only the authentication in front of it.
        const withBodies = operations.filter((o) => o.bodyFields).map((o) => o.path);
        assert.ok(operations.length >= 60, `${operations.length} operations`);
        assert.deepEqual([...new Set(refusedNonObject)].sort(), [...new Set(withBodies)].sort());
      } finally {
        await w.close();
      }
    },
  );
}
