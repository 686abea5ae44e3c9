import fs from "node:fs";
import { parse } from "csv-parse/sync";
import type { ImportRow } from "../domain/accounts/lifecycle.js";

const truthy = (value: unknown): boolean =>
  value === true || value === 1 || (typeof value === "string" && /^(1|true|yes|y)$/i.test(value.trim()));

/** Column names accepted for the hash: Warden's, Symfony's, and the obvious variants. */
const hashOf = (record: Record<string, unknown>): string =>
  String(record.password_hash ?? record.passwordHash ?? record.password ?? record.hash ?? "");

const flag = (record: Record<string, unknown>, names: string[], fallback: boolean): boolean => {
  for (const name of names) if (record[name] !== undefined && record[name] !== "") return truthy(record[name]);
  return fallback;
};

function toRow(record: Record<string, unknown>): ImportRow {
  const roles = record.roles;
  return {
    email: String(record.email ?? ""),
    passwordHash: hashOf(record),
    confirmed: flag(record, ["confirmed", "email_confirmed", "emailVerified", "is_verified"], false),
    active: flag(record, ["active", "is_active", "enabled"], true),
    roles: Array.isArray(roles)
      ? roles.map(String)
      : typeof roles === "string" && roles
        ? roles.split(/[|;, ]+/).filter(Boolean)
        : undefined,
  };
}

/** Reads a JSON array or a CSV file with a header row (email, password_hash, confirmed, active[, roles]). */
export function readImportFile(file: string): ImportRow[] {
  const text = fs.readFileSync(file, "utf8");
  const isJson = file.endsWith(".json") || /^\s*[[{]/.test(text);
  const records = isJson
    ? (JSON.parse(text) as unknown)
    : (parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true }) as unknown);
  const list = Array.isArray(records) ? records : (records as { users?: unknown[] }).users;
  if (!Array.isArray(list)) throw new Error("expected a JSON array of users or a CSV file with a header row");
  return list.map((r) => toRow(r as Record<string, unknown>));
}
