import type { FastifyDynamicSwaggerOptions } from "@fastify/swagger";
import fs from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../paths.js";

const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { version: string };

/**
 * The OpenAPI document's frame: version and license from package.json, the server, the security
 * scheme, and an example request body per operation. Route schemas stay in the route files; an
 * operation without an example here may carry `examples: [...]` in its own body schema instead.
 * test/http/openapi.test.ts lints the result with Redocly's recommended rules.
 */
const EXAMPLE_BODIES: Record<string, unknown> = {
  login: { email: "alice@example.com", password: "correct horse battery staple" },
  refreshToken: { refresh_token: "yBfo4eaxny4Dm_z7gXz2Muq8tlJyV5wb8AqjvMHyqFE" },
  logout: { refresh_token: "yBfo4eaxny4Dm_z7gXz2Muq8tlJyV5wb8AqjvMHyqFE" },
  verifyMfa: {
    mfaToken: "640483b9c0e1d3f5a7b9c1d3e5f7a9b1c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f3",
    code: "123456",
    type: "totp",
  },
  register: { email: "ana@example.com", password: "plum tree in winter", firstName: "Ana", locale: "ro" },
  confirmEmail: { token: "_nSxJ5JGL_zcgHHVJAnGSVbX3PakseD_uc1FKbh1QwI" },
  resendConfirmation: { email: "ana@example.com" },
  forgotPassword: { email: "ana@example.com" },
  resetPassword: { token: "_nSxJ5JGL_zcgHHVJAnGSVbX3PakseD_uc1FKbh1QwI", password: "a new and longer phrase" },
  updateMe: { firstName: "Alice", timezone: "Europe/Bucharest" },
  deleteMe: { password: "correct horse battery staple" },
  enableTotp: { code: "123456", revokeOtherSessions: false },
  disableTotp: { password: "correct horse battery staple" },
  regenerateBackupCodes: { password: "correct horse battery staple" },
};

type Document = { paths?: Record<string, Record<string, OperationObject>> };
type OperationObject = { operationId?: string; requestBody?: { content?: Record<string, MediaObject> } };
type MediaObject = { example?: unknown; examples?: unknown };

function withExamples(document: Document): Document {
  for (const methods of Object.values(document.paths ?? {}))
    for (const operation of Object.values(methods)) {
      const example = operation.operationId ? EXAMPLE_BODIES[operation.operationId] : undefined;
      for (const media of Object.values(operation.requestBody?.content ?? {}))
        if (example !== undefined && media.example === undefined && media.examples === undefined)
          media.example = example;
    }
  return document;
}

export function openapiOptions(serverUrl: string): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Warden",
        version: pkg.version,
        description:
          "An authentication API server: email and password login with rotating refresh tokens, two-factor " +
          "authentication, registration and password reset by mail, sessions and security events. Compatible " +
          "with the auth API of Storno.ro. Access tokens are RS256 JWTs; verify them with /.well-known/jwks.json.",
        license: { name: "MIT", identifier: "MIT" },
      },
      servers: [{ url: serverUrl.replace(/\/+$/, "") }],
      components: {
        securitySchemes: {
          bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
          // API keys, introspection and metrics (issue 13).
          apiKey: { type: "apiKey", in: "header", name: "Authorization", description: "af_... or Bearer af_..." },
          introspection: { type: "http", scheme: "bearer", description: "INTROSPECTION_SECRET" },
          metrics: { type: "http", scheme: "bearer", description: "METRICS_TOKEN" },
        },
      },
    },
    transformObject: (documentObject) =>
      withExamples(("openapiObject" in documentObject ? documentObject.openapiObject : {}) as Document) as never,
  };
}
