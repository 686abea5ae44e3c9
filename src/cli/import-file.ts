import fs from "node:fs";
import { parse } from "csv-parse/sync";
import type { ImportRow } from "../domain/accounts/lifecycle.js";

/** Column names accepted for the hash: Warden's, Symfony's, and the obvious variants. */
const HASH_COLUMNS = ["password_hash", "passwordHash", "password", "hash"];
const CONFIRMED_COLUMNS = ["confirmed", "email_confirmed", "emailVerified", "is_verified"];
const ACTIVE_COLUMNS = ["active", "is_active", "enabled"];

const TRUE = /^(1|true|yes|y)$/i;
const FALSE = /^(0|false|no|n)$/i;

/** A yes/no column: absent or empty takes the default; anything but a clear yes or no is an error for the row. */
function flag(record: Record<string, unknown>, names: string[], fallback: boolean): boolean | string {
  for (const name of names) {
    const value = record[name];
    if (value === undefined || value === null || value === "") continue;
    if (value === true || value === 1) return true;
    if (value === false || value === 0) return false;
    if (typeof value === "string" && TRUE.test(value.trim())) return true;
    if (typeof value === "string" && FALSE.test(value.trim())) return false;
    return `${name} must be true or false (1/0, yes/no), got ${JSON.stringify(value).slice(0, 40)}`;
  }
  return fallback;
}

function toRow(record: Record<string, unknown>, label: string): ImportRow {
  const roles = record.roles;
  const hashColumn = HASH_COLUMNS.find((name) => record[name] !== undefined && record[name] !== "");
  const confirmed = flag(record, CONFIRMED_COLUMNS, false);
  const active = flag(record, ACTIVE_COLUMNS, true);
  const problems = [confirmed, active].filter((v): v is string => typeof v === "string");
  return {
    label,
    email: typeof record.email === "string" ? record.email : "",
    passwordHash: hashColumn ? String(record[hashColumn]) : "",
    confirmed: confirmed === true,
    active: active === true,
    roles: Array.isArray(roles)
      ? roles.map(String)
      : typeof roles === "string" && roles
        ? roles.split(/[|;, ]+/).filter(Boolean)
        : undefined,
    problem: problems[0] ?? (hashColumn ? undefined : "no password_hash"),
  };
}

/**
 * Reads a JSON array or a CSV file with a header row (email, password_hash, confirmed, active[,
 * roles]). Every row is judged on its own: a row the parser cannot read (too few or too many
 * fields, a broken quote) becomes a row with a `problem`, named by its line in the file (CSV) or
 * its position in the array (JSON), and the rest of the file is still imported.
 */
export function readImportFile(file: string): ImportRow[] {
  const text = fs.readFileSync(file, "utf8");
  const isJson = file.endsWith(".json") || /^\s*[[{]/.test(text);
  if (isJson) {
    let records: unknown;
    try {
      records = JSON.parse(text);
    } catch (error) {
      throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
    }
    const list = Array.isArray(records) ? records : (records as { users?: unknown[] } | null)?.users;
    if (!Array.isArray(list)) throw new Error("expected a JSON array of users or a CSV file with a header row");
    return list.map((r, i) =>
      r && typeof r === "object" && !Array.isArray(r)
        ? toRow(r as Record<string, unknown>, `entry ${i + 1}`)
        : {
            label: `entry ${i + 1}`,
            email: "",
            passwordHash: "",
            confirmed: false,
            active: false,
            problem: "not an object",
          },
    );
  }

  const unreadable: ImportRow[] = [];
  const parsed = parse(text, {
    relax_column_count: true,
    skip_empty_lines: true,
    trim: true,
    bom: true,
    info: true,
    skip_records_with_error: true,
    on_skip: (error) => {
      if (error)
        unreadable.push({
          label: `line ${error.lines}`,
          email: "",
          passwordHash: "",
          confirmed: false,
          active: false,
          problem: error.message,
        });
    },
  }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
  const [header, ...records] = parsed;
  if (!header || !header.record.includes("email"))
    throw new Error("expected a CSV header row naming the columns (email,password_hash,confirmed,active)");
  const columns = header.record;
  const rows = records.map(({ record, info }) => {
    const label = `line ${info.lines}`;
    if (record.length !== columns.length) {
      return {
        label,
        email: record[columns.indexOf("email")] ?? "",
        passwordHash: "",
        confirmed: false,
        active: false,
        problem: `expected ${columns.length} fields (${columns.join(",")}), found ${record.length}`,
      };
    }
    return toRow(Object.fromEntries(columns.map((name, i) => [name, record[i]])), label);
  });
  return [...rows, ...unreadable].sort((a, b) => Number(a.label.split(" ")[1]) - Number(b.label.split(" ")[1]));
}
