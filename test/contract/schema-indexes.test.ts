/**
 * The schema serves its deletes through indexes, on both engines.
 *
 * - Every statement of the retention purge is explained by the database itself, and none may
 *   read a whole table. A purge that scans holds SQLite's write lock for the whole scan (logins
 *   and refreshes wait behind it) and reads every session and token on PostgreSQL at each
 *   RETENTION_PURGE_INTERVAL. PostgreSQL explains with `enable_seqscan = off`: on tables this
 *   small it would rightly prefer a sequential scan, so what is asserted is that an index exists
 *   that can serve the statement. The rate-limit counters' own purge is not part of this.
 * - Every foreign key's column leads an index, so deleting a user or a session (account
 *   deletion, sign-out everywhere, the purge) finds the rows that reference it without reading
 *   their whole table; SQLite checks and cascades foreign keys row by row.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { KyselyPlugin, RootOperationNode } from "kysely";
import type { Database } from "../../src/storage/database.js";
import { createRetentionStore } from "../../src/storage/retention.js";
import { openTestDatabase } from "../helpers/database.js";
import { engines } from "../helpers/engines.js";

/** Every statement the purge sends, compiled as the engine receives it. */
async function purgeStatements(database: Database): Promise<Array<{ sql: string; parameters: readonly unknown[] }>> {
  const nodes: RootOperationNode[] = [];
  const recorder: KyselyPlugin = {
    transformQuery: ({ node }) => {
      nodes.push(node);
      return node;
    },
    transformResult: async ({ result }) => result,
  };
  const store = createRetentionStore(database.db.withPlugin(recorder), { purgeExpired: async () => 0 });
  const now = new Date();
  await store.purge({
    tokensExpiredBefore: now,
    sessionsEndedBefore: now,
    apiKeysEndedBefore: now,
    eventsBefore: now,
    now,
  });
  const executor = database.db.getExecutor();
  return nodes.map((node, i) => executor.compileQuery(node, { queryId: `purge-${i}` }));
}

/** The plan's lines that read a whole table. */
async function fullScans(database: Database, statement: { sql: string; parameters: readonly unknown[] }) {
  if (database.engine === "sqlite") {
    const plan = database.sqlite!.prepare(`explain query plan ${statement.sql}`).all(...statement.parameters) as Array<{
      detail: string;
    }>;
    return plan.map((row) => row.detail).filter((detail) => /^SCAN /.test(detail));
  }
  const client = await database.pgPool!.connect();
  try {
    await client.query("begin");
    await client.query("set local enable_seqscan = off");
    const plan = await client.query(`explain ${statement.sql}`, statement.parameters as unknown[]);
    await client.query("rollback");
    return plan.rows.map((row) => String(row["QUERY PLAN"])).filter((line) => line.includes("Seq Scan"));
  } finally {
    client.release();
  }
}

const PURGED_TABLES = [
  "refresh_tokens",
  "sessions",
  "api_keys",
  "mfa_challenges",
  "email_tokens",
  "webauthn_challenges",
  "step_up_challenges",
  "verification_tokens",
  "security_events",
];

for (const { engine, skip } of engines) {
  describe(`schema indexes (${engine.name})`, { skip }, () => {
    test("no statement of a purge reads a whole table", async () => {
      const test = await openTestDatabase(engine);
      try {
        const statements = await purgeStatements(test.database);
        const deletedFrom = statements.flatMap((s) => /^delete from "(\w+)"/.exec(s.sql)?.[1] ?? []);
        assert.deepEqual(new Set(deletedFrom), new Set(PURGED_TABLES), statements.map((s) => s.sql).join("\n"));
        for (const statement of statements) {
          assert.deepEqual(await fullScans(test.database, statement), [], statement.sql);
        }
      } finally {
        await test.close();
      }
    });

    test("every foreign key's column leads an index", async () => {
      const test = await openTestDatabase(engine);
      try {
        const keys = await foreignKeys(test.database);
        assert.ok(keys.length >= 15, `foreign keys found: ${keys.length}`);
        assert.deepEqual(
          keys.filter((key) => !key.indexed).map((key) => `${key.table}.${key.column}`),
          [],
        );
      } finally {
        await test.close();
      }
    });
  });
}

/** Each foreign key of the schema, and whether an index of its table starts with its column. */
async function foreignKeys(database: Database): Promise<Array<{ table: string; column: string; indexed: boolean }>> {
  if (database.engine === "sqlite") {
    const db = database.sqlite!;
    const tables = db.prepare("select name from sqlite_master where type = 'table'").all() as Array<{ name: string }>;
    return tables.flatMap(({ name }) => {
      const leading = (db.prepare(`pragma index_list("${name}")`).all() as Array<{ name: string }>).map(
        (index) => (db.prepare(`pragma index_info("${index.name}")`).all() as Array<{ name: string }>)[0]?.name,
      );
      return (db.prepare(`pragma foreign_key_list("${name}")`).all() as Array<{ from: string }>).map((key) => ({
        table: name,
        column: key.from,
        indexed: leading.includes(key.from),
      }));
    });
  }
  const { rows } = await database.pgPool!.query<{ table: string; column: string; indexed: boolean }>(`
    select c.conrelid::regclass::text as table, a.attname as column,
           exists (select 1 from pg_index i where i.indrelid = c.conrelid and i.indkey[0] = c.conkey[1]) as indexed
    from pg_constraint c
    join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
    where c.contype = 'f' and c.connamespace = 'public'::regnamespace`);
  return rows;
}
