import fs from "node:fs";
import path from "node:path";
import SQLite from "better-sqlite3";
import { createRequire } from "node:module";
import type pg from "pg";
import {
  type Selectable,
  CompiledQuery,
  Kysely,
  PostgresDialect,
  sql,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
} from "kysely";
import { Changes, watchingWrites } from "./write-watch.js";

/** Times are stored as integer milliseconds since the epoch on both engines; flags as nullable times. */
export interface UsersTable {
  id: string;
  email: string;
  password_hash: string;
  /** Bumped by every password reset or change (not by a rehash): sessions check it as they open. */
  password_epoch: number;
  first_name: string | null;
  last_name: string | null;
  phone: string | null;
  locale: string | null;
  timezone: string | null;
  roles: string;
  preferences: string;
  email_confirmed_at: number | null;
  deactivated_at: number | null;
  deleted_at: number | null;
  last_connected_at: number | null;
  password_reset_at: number | null;
  email_changed_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface SigningKeysTable {
  kid: string;
  public_jwk: string;
  private_key_enc: string;
  created_at: number;
  retired_at: number | null;
  revoked_at: number | null;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  created_at: number;
  last_used_at: number;
  expires_at: number;
  ip: string | null;
  user_agent: string | null;
  revoked_at: number | null;
  revoked_reason: string | null;
  /** When the user last proved who they are in this session (login, MFA). */
  auth_time: number | null;
  /** JSON array of RFC 8176 method references: ["pwd"], ["pwd","otp","mfa"]...; null on sessions from before 0520. */
  amr: string | null;
}

export interface RefreshTokensTable {
  token_hash: string;
  session_id: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  successor_hash: string | null;
  successor_enc: string | null;
}

export interface MfaChallengesTable {
  token_hash: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  failed_attempts: number;
  consumed_at: number | null;
  ip: string | null;
  user_agent: string | null;
  /** JSON array of the first factor's RFC 8176 references; null on challenges from before 0520 (a password). */
  amr: string | null;
}

export interface BackupCodesTable {
  id: string;
  user_id: string;
  code_hash: string;
  created_at: number;
  used_at: number | null;
}

export interface EmailTokensTable {
  token_hash: string;
  user_id: string;
  purpose: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  /** An `email_change` token's new address (migration 0540), null for every other purpose. */
  new_email: string | null;
}

/**
 * Second factors that are a secret the user's authenticator holds (TOTP). Passkeys keep their own
 * table (a public key, a counter, a credential id unique across users).
 */
export interface FactorsTable {
  id: string;
  user_id: string;
  /** The SecondFactor's method: 'totp'. */
  type: string;
  /** 'pending' until enrolment is confirmed, then 'confirmed'. */
  state: string;
  /** The factor's secret, encrypted with SecretBox. */
  secret_enc: string;
  /** TOTP: the highest time step ever accepted. */
  last_step: number | null;
  created_at: number;
  confirmed_at: number | null;
  last_used_at: number | null;
}

export interface SecurityEventsTable {
  id: string;
  user_id: string | null;
  type: string;
  ip: string | null;
  user_agent: string | null;
  detail: string | null;
  created_at: number;
}

/** One row per kind of legacy password hash imported (e.g. wrapped bcrypt-13), with a hash of a random password of that kind. */
export interface LegacyHashClassesTable {
  name: string;
  sample_hash: string;
  created_at: number;
}

export interface PasskeysTable {
  id: string;
  user_id: string;
  credential_id: string;
  public_key: string;
  counter: number;
  /** JSON array of transport hints. */
  transports: string;
  device_type: string;
  /** 0 or 1. */
  backed_up: number;
  name: string;
  created_at: number;
  last_used_at: number | null;
}

export interface WebauthnChallengesTable {
  challenge_hash: string;
  ceremony: string;
  user_id: string | null;
  binding_hash: string | null;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
}

export interface StepUpChallengesTable {
  token_hash: string;
  user_id: string;
  session_id: string;
  created_at: number;
  expires_at: number;
  failed_attempts: number;
  consumed_at: number | null;
}

export interface VerificationTokensTable {
  token_hash: string;
  user_id: string;
  session_id: string;
  method: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface IdentitiesTable {
  id: string;
  user_id: string;
  provider: string;
  subject: string;
  email: string | null;
  created_at: number;
  last_used_at: number | null;
}

export interface EmailOtpCodesTable {
  user_id: string;
  challenge_hash: string;
  code_hash: string;
  sent_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface DB {
  users: UsersTable;
  legacy_hash_classes: LegacyHashClassesTable;
  signing_keys: SigningKeysTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  mfa_challenges: MfaChallengesTable;
  backup_codes: BackupCodesTable;
  email_tokens: EmailTokensTable;
  security_events: SecurityEventsTable;
  factors: FactorsTable;
  passkeys: PasskeysTable;
  webauthn_challenges: WebauthnChallengesTable;
  step_up_challenges: StepUpChallengesTable;
  verification_tokens: VerificationTokensTable;
  identities: IdentitiesTable;
  email_otp_codes: EmailOtpCodesTable;
}

export type Engine = "sqlite" | "postgres";

export interface Database {
  db: Kysely<DB>;
  engine: Engine;
  /** The raw better-sqlite3 handle (SQLite only): pragmas, and the query plans the tests read. */
  sqlite?: SQLite.Database;
  /** The raw pg pool (PostgreSQL only), for counters that share the server. */
  pgPool?: pg.Pool;
  /** Hand-written reads for the hottest paths, past Kysely; see RawReader. */
  reader: RawReader;
  /** Moves when this process commits a write through `db` (src/storage/write-watch.ts). */
  changes: Changes;
  close(): Promise<void>;
}

/**
 * One row of a hand-written `select`, straight to the driver: a prepared better-sqlite3
 * statement, or one pg query. Kysely costs about 25 us of CPU per query on top of SQLite's 4
 * (building, compiling and running through its connection queue), which on `GET /api/v1/me`,
 * four queries a request, was a quarter of the server's CPU. Reads see committed rows only, as
 * Kysely's do (on SQLite they wait for a unit of work in progress). Not for reads inside a
 * transaction; `param` is the engine's placeholder for parameter `n` (1-based).
 *
 * A statement that writes may come this way only if it writes a table the write watcher treats
 * as quiet (write-watch.ts, QUIET_TABLES: the rate-limit counters' upsert ... returning): on
 * SQLite outside a unit of work it bypasses the watcher. It is its own transaction either way,
 * never part of another request's.
 */
export interface RawReader {
  param(n: number): string;
  first<Row>(sql: string, parameters: readonly unknown[]): Promise<Row | undefined>;
  all<Row>(sql: string, parameters: readonly unknown[]): Promise<Row[]>;
}

/** A row's own columns out of a joined row, where they were selected as `<prefix><column>`. */
export function prefixedColumns<Row>(
  joined: Record<string, unknown>,
  prefix: string,
  columns: ReadonlyArray<string>,
): Row {
  return Object.fromEntries(columns.map((c) => [c, joined[prefix + c]])) as Row;
}

/**
 * A hand-written read of rows of `table` joined to the user who owns them (`user_id`), where
 * `condition` holds (on `t`, the row's table): the user's columns as they are, the row's
 * prefixed (both tables have `id` and `created_at`). `split` takes one joined row apart.
 */
export function ownedRowQuery<Row>(
  table: string,
  columns: ReadonlyArray<keyof Row & string>,
  condition: string,
): { sql: string; split(joined: Record<string, unknown>): { row: Row; owner: Selectable<UsersTable> } } {
  return {
    sql: `select u.*, ${columns.map((c) => `t.${c} as t_${c}`).join(", ")}
   from ${table} t join users u on u.id = t.user_id where ${condition}`,
    split: (joined) => ({
      row: prefixedColumns<Row>(joined, "t_", columns),
      owner: joined as Selectable<UsersTable>,
    }),
  };
}

/**
 * One row of `table` and the user who owns it, found by `keyColumn`, in one hand-written read
 * (ownedRowQuery). The read of every Bearer request (sessions) and API-key request (api_keys).
 */
export function ownedRowReader<Row>(
  reader: RawReader,
  table: string,
  columns: ReadonlyArray<keyof Row & string>,
  keyColumn: keyof Row & string,
): (key: string) => Promise<{ row: Row; owner: Selectable<UsersTable> } | null> {
  const query = ownedRowQuery<Row>(table, columns, `t.${keyColumn} = ${reader.param(1)}`);
  return async (key) => {
    const joined = await reader.first<Record<string, unknown>>(query.sql, [key]);
    return joined ? query.split(joined) : null;
  };
}

/**
 * SQLite's default deferred transactions fail with SQLITE_BUSY when two processes both try to
 * upgrade a read lock to a write lock; taking the write lock up front lets busy_timeout queue them.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  constructor(
    config: ConstructorParameters<typeof SqliteDriver>[0],
    private readonly inTransaction: () => boolean,
  ) {
    super(config);
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }

  /**
   * SQLite rolls a transaction back by itself when a statement fails with SQLITE_FULL,
   * SQLITE_IOERR, SQLITE_NOMEM or SQLITE_BUSY; a ROLLBACK then fails with "no transaction is
   * active", and that error would replace the one the request must be answered by (a full disk
   * is a 503, not a 500).
   */
  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (this.inTransaction()) await super.rollbackTransaction(connection);
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(
    private readonly sqliteConfig: ConstructorParameters<typeof SqliteDialect>[0],
    private readonly inTransaction: () => boolean,
  ) {
    super(sqliteConfig);
  }
  override createDriver() {
    return new ImmediateSqliteDriver(this.sqliteConfig, this.inTransaction);
  }
}

/**
 * Kysely prepares every query anew; better-sqlite3 statements are reusable, and preparing was
 * ~6% of a refresh in the profile. Queries are built from a fixed set of shapes, so the cache
 * stays small; the bound only guards against a shape that varies (e.g. an IN list).
 */
const STATEMENT_CACHE_SIZE = 500;
function withStatementCache(sqlite: SQLite.Database) {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (!statement) {
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
        statement = sqlite.prepare(sql);
        cache.set(sql, statement);
      }
      return statement;
    },
  };
}

/**
 * The database holds password hashes and encrypted keys: a new folder is 0700 and a new file
 * 0600 (SQLite gives its -wal and -shm files the database file's mode). Existing files keep
 * the mode an operator gave them.
 */
function createPrivately(file: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  try {
    fs.closeSync(fs.openSync(file, "wx", 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
}

/** Longest wait for a PostgreSQL connection (new, or a free one of the pool). */
export const PG_CONNECT_TIMEOUT_MS = 2_000;
/** Longest a query may run, on the server (statement_timeout) and as seen by the client. */
export const PG_QUERY_TIMEOUT_MS = 3_000;

export function openDatabase(
  url: string,
  options: {
    poolSize?: number;
    /** Told when an idle pooled PostgreSQL connection loses its server (the metrics count it). */
    onConnectionError?: (error: unknown) => void;
  } = {},
): Database {
  if (url.startsWith("sqlite:")) {
    const file = url.slice("sqlite:".length);
    if (file !== ":memory:") createPrivately(file);
    const sqlite = new SQLite(file);
    sqlite.pragma("journal_mode = WAL");
    sqlite.pragma("synchronous = NORMAL");
    sqlite.pragma("foreign_keys = ON");
    sqlite.pragma("busy_timeout = 5000");
    const statements = withStatementCache(sqlite);
    const changes = new Changes();
    const db = new Kysely<DB>({
      dialect: watchingWrites(
        new ImmediateSqliteDialect({ database: statements }, () => sqlite.inTransaction),
        changes,
      ),
    });
    // One connection: while a unit of work holds it, a direct read would see that transaction's
    // uncommitted writes (a TOTP factor deleted by a disable that then rolls back). The same SQL
    // then goes through Kysely's connection queue, which waits for the commit.
    const rows = async <Row>(sql: string, parameters: readonly unknown[]): Promise<Row[]> =>
      sqlite.inTransaction
        ? ((await db.executeQuery(CompiledQuery.raw(sql, [...parameters]))).rows as Row[])
        : (statements.prepare(sql).all(...parameters) as Row[]);
    const reader: RawReader = {
      param: () => "?",
      first: async <Row>(sql: string, parameters: readonly unknown[]) =>
        sqlite.inTransaction
          ? (await rows<Row>(sql, parameters))[0]
          : (statements.prepare(sql).get(...parameters) as Row | undefined),
      all: rows,
    };
    return { db, engine: "sqlite", sqlite, reader, changes, close: () => db.destroy() };
  }
  // pg is loaded for a PostgreSQL URL only: a SQLite process never pays its memory (issue 14).
  const pg = createRequire(import.meta.url)("pg") as typeof import("pg").default;
  const INT8_OID = 20;
  const pgTypes = {
    getTypeParser(oid: number, format?: "text" | "binary") {
      // Millisecond timestamps fit a double exactly; return numbers, not strings.
      if (oid === INT8_OID) return (value: string) => Number(value);
      return pg.types.getTypeParser(oid, format as "text");
    },
  } as pg.CustomTypesConfig;
  const pgPool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    types: pgTypes,
    // Nothing waits on an unreachable server for long: a request fails within a few seconds
    // (503 with Retry-After, see storage/faults.ts) instead of hanging, and recovers by itself.
    connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
    query_timeout: PG_QUERY_TIMEOUT_MS,
    statement_timeout: PG_QUERY_TIMEOUT_MS,
    keepAlive: true,
  });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pgPool.on("error", (error) => options.onConnectionError?.(error));
  // Nor one in use: pg-pool listens to a client's errors only while it is idle, and pg emits
  // 'error' on the client as well as failing its queries, so a reset during a transaction or a
  // Kysely query (a failover, a restart) threw an unhandled 'error' event and ended the process.
  // The query in flight gets the error (answered 503, storage/faults.ts) and the pool drops the
  // broken client when it is released.
  pgPool.on("connect", (client) => client.on("error", () => undefined));
  const changes = new Changes();
  const db = new Kysely<DB>({ dialect: watchingWrites(new PostgresDialect({ pool: pgPool }), changes) });
  const reader: RawReader = {
    param: (n) => `$${n}`,
    first: async <Row>(sql: string, parameters: readonly unknown[]) =>
      (await pgPool.query(sql, parameters as unknown[])).rows[0] as Row | undefined,
    all: async <Row>(sql: string, parameters: readonly unknown[]) =>
      (await pgPool.query(sql, parameters as unknown[])).rows as Row[],
  };
  return { db, engine: "postgres", pgPool, reader, changes, close: () => db.destroy() };
}

/**
 * Runs `work` in a transaction, or inside the one `db` already is (a store called through the
 * unit of work joins the caller's transaction instead of opening a nested one).
 */
export const atomically = <T>(db: Kysely<DB>, work: (trx: Kysely<DB>) => Promise<T>): Promise<T> =>
  db.isTransaction ? work(db) : db.transaction().execute(work);

let savepoints = 0;

/**
 * Runs `work` so that a throw undoes exactly its own writes: in a transaction of its own, or,
 * inside the caller's, in a savepoint rolled back on a throw. A store whose all-or-nothing write
 * finds a conflict halfway (a user created, then the identity taken) throws to undo it; on
 * PostgreSQL that also keeps the caller's transaction usable, where a failed statement outside
 * a savepoint would abort it.
 */
export async function allOrNothing<T>(db: Kysely<DB>, work: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
  if (!db.isTransaction) return db.transaction().execute(work);
  const name = sql.raw(`warden_sp${++savepoints}`);
  await sql`savepoint ${name}`.execute(db);
  try {
    const result = await work(db);
    await sql`release savepoint ${name}`.execute(db);
    return result;
  } catch (error) {
    await sql`rollback to savepoint ${name}`.execute(db);
    await sql`release savepoint ${name}`.execute(db);
    throw error;
  }
}

export const toDate = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));
