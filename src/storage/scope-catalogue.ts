import fs from "node:fs";
import * as z from "zod";
import type { ScopeDefinition } from "../domain/api-keys/ports.js";

const catalogue = z
  .array(
    z.object({
      value: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, "letters, digits and _ . : - only"),
      label: z.string().min(1),
      category: z.string().min(1),
      roles: z.array(z.string().min(1)).optional(),
    }),
  )
  .refine((list) => new Set(list.map((s) => s.value)).size === list.length, "scope values must be unique");

/** The API-key scopes of API_KEY_SCOPES_FILE; none when unset. A bad file stops start-up, naming the problem. */
export function loadScopeCatalogue(file: string | undefined): ScopeDefinition[] {
  if (!file) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw new Error(`API_KEY_SCOPES_FILE ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const result = catalogue.safeParse(parsed);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join(".") || "file"}: ${i.message}`).join("; ");
    throw new Error(`API_KEY_SCOPES_FILE ${file}: ${problems}`);
  }
  return result.data;
}
