import fs from "node:fs";
import path from "node:path";
import SQLite from "better-sqlite3";
import pg from "pg";
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type LogEvent,
} from "kysely";

/** Times are stored as integer milliseconds since the epoch on both engines; flags as nullable times. */
export interface UsersTable {
  id: string;
  email: string;
  password_hash: string;
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
  totp_secret_enc: string | null;
  totp_pending_secret_enc: string | null;
  totp_enabled_at: number | null;
  totp_last_step: number | null;
  last_connected_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface SigningKeysTable {
  kid: string;
  public_jwk: string;
  private_key_enc: string;
  created_at: number;
  retired_at: number | null;
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

export interface DB {
  users: UsersTable;
  signing_keys: SigningKeysTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  mfa_challenges: MfaChallengesTable;
  backup_codes: BackupCodesTable;
  email_tokens: EmailTokensTable;
  security_events: SecurityEventsTable;
  passkeys: PasskeysTable;
  webauthn_challenges: WebauthnChallengesTable;
  step_up_challenges: StepUpChallengesTable;
  verification_tokens: VerificationTokensTable;
}

export type Engine = "sqlite" | "postgres";

export interface Database {
  db: Kysely<DB>;
  engine: Engine;
  /** The raw better-sqlite3 handle (SQLite only), for counters that share the file. */
  sqlite?: SQLite.Database;
  /** The raw pg pool (PostgreSQL only), for counters that share the server. */
  pgPool?: pg.Pool;
  close(): Promise<void>;
}

/**
 * SQLite's default deferred transactions fail with SQLITE_BUSY when two processes both try to
 * upgrade a read lock to a write lock; taking the write lock up front lets busy_timeout queue them.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly sqliteConfig: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(sqliteConfig);
  }
  override createDriver() {
    return new ImmediateSqliteDriver(this.sqliteConfig);
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

const INT8_OID = 20;
const pgTypes = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    // Millisecond timestamps fit a double exactly; return numbers, not strings.
    if (oid === INT8_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as "text");
  },
} as pg.CustomTypesConfig;

export function openDatabase(
  url: string,
  options: { poolSize?: number; onError?: (error: unknown) => void } = {},
): Database {
  // Kysely reports every failed query here (metrics count them; the caller still gets the error).
  const log = options.onError
    ? (event: LogEvent) => {
        if (event.level === "error") options.onError!(event.error);
      }
    : undefined;
  if (url.startsWith("sqlite:")) {
    const file = url.slice("sqlite:".length);
    if (file !== ":memory:") fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const sqlite = new SQLite(file);
    sqlite.pragma("journal_mode = WAL");
    sqlite.pragma("synchronous = NORMAL");
    sqlite.pragma("foreign_keys = ON");
    sqlite.pragma("busy_timeout = 5000");
    const db = new Kysely<DB>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(sqlite) }), log });
    return { db, engine: "sqlite", sqlite, close: () => db.destroy() };
  }
  const pgPool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10, types: pgTypes });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pgPool.on("error", (error) => options.onError?.(error));
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: pgPool }), log });
  return { db, engine: "postgres", pgPool, close: () => db.destroy() };
}

export const toDate = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));
