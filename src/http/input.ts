import type { FastifyInstance } from "fastify";
import { AuthError } from "../domain/errors.js";

/** C0 controls (NUL included), DEL and C1 controls: no field of the API has a use for them. */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
export const CONTROL_CHARACTER_MESSAGE = "This value must not contain control characters.";

/** Nested values deeper than this are not walked; the body limit keeps real bodies far shallower. */
const MAX_DEPTH = 32;

/** Paths (`a.b.0`) of every string, or object key, in `value` that holds a control character. */
export function fieldsWithControlCharacters(value: unknown, path = "", depth = 0, found: string[] = []): string[] {
  if (typeof value === "string") {
    if (CONTROL_CHARACTER.test(value)) found.push(path || "body");
  } else if (value !== null && typeof value === "object" && depth < MAX_DEPTH) {
    for (const [key, child] of Object.entries(value)) {
      const childPath = path ? `${path}.${key}` : key;
      if (CONTROL_CHARACTER.test(key)) found.push(path || "body");
      fieldsWithControlCharacters(child, childPath, depth + 1, found);
    }
  }
  return found;
}

/**
 * One rule for every route, before its schema runs: a control character in any string of the
 * body, the query or the path is a 400 with the contract's body. PostgreSQL refuses NUL in
 * text (`invalid byte sequence for encoding "UTF8": 0x00`), so without this a NUL in an email
 * was a 500 there and a silently stored NUL on SQLite; other controls have no legitimate use in
 * an email, name, token or password and would otherwise reach mails and logs.
 */
export function installInputRules(app: FastifyInstance): void {
  app.addHook("preValidation", async (request) => {
    const fields = [
      ...fieldsWithControlCharacters(request.body),
      ...fieldsWithControlCharacters(request.query),
      ...fieldsWithControlCharacters(request.params),
    ];
    if (fields.length === 0) return;
    const errors: Record<string, string[]> = {};
    for (const field of fields) errors[field] = [CONTROL_CHARACTER_MESSAGE];
    throw new AuthError("VALIDATION_FAILED", { errors });
  });
}
