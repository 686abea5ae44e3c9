import type {
  CompiledQuery,
  DatabaseConnection,
  Dialect,
  Driver,
  QueryCompiler,
  QueryResult,
  TransactionSettings,
} from "kysely";

/**
 * A number that moves whenever this process commits a write that a remembered read may depend
 * on: a read made at generation N is good for as long as the generation is still N
 * (src/storage/recent-reads.ts). It moves after the commit, never before, so a read that raced
 * the write and saw the old row is thrown away, not kept.
 */
export class Changes {
  generation = 0;
  moved(): void {
    this.generation++;
  }
}

/**
 * Tables no remembered read looks at and that are written on every request: the rate-limit
 * counters (src/storage/counters.ts) and the security log. Everything else, a table added
 * tomorrow included, moves the generation: a forgotten table costs a cache miss, never a stale
 * answer.
 */
const QUIET_TABLES = new Set(["warden_counters", "security_events"]);

const WRITE = /^\s*(?:with\b[\s\S]*?\)\s*)?(insert|update|delete|replace|merge|create|alter|drop|truncate)\b/i;
const TARGET = /^\s*(?:insert\s+into|replace\s+into|update|delete\s+from)\s+"?([\w]+)"?/i;
/** A data-modifying `WITH` part (PostgreSQL), as Kysely and hand-written statements spell it: its table. */
const WRITE_IN_WITH = /\bas\s*\(\s*(?:insert\s+into|update|delete\s+from)\s+"?(\w+)"?/gi;

/**
 * Whether `query` may change a row some remembered read returned: a write at its top (an unknown
 * target counts), or in one of its `WITH` parts (a refresh on PostgreSQL is a select whose parts
 * spend the token and stamp the session), to any table but the quiet ones.
 */
export function mayChange(query: CompiledQuery): boolean {
  const tables = [...query.sql.matchAll(WRITE_IN_WITH)].map((m) => m[1]!);
  if (query.query.kind !== "SelectQueryNode" && WRITE.test(query.sql)) tables.push(TARGET.exec(query.sql)?.[1] ?? "");
  return tables.some((table) => !QUIET_TABLES.has(table.toLowerCase()));
}

/** One acquired connection, remembering whether its open transaction wrote something that counts. */
class WatchedConnection implements DatabaseConnection {
  inTransaction = false;
  wrote = false;

  constructor(
    readonly inner: DatabaseConnection,
    private readonly changes: Changes,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.inner.executeQuery<R>(query);
    // A conditional write that matched nothing (an API key's last-use stamp already recent, a
    // revocation of a revoked session) changed nothing. Unknown counts (DDL) count as a change.
    if (mayChange(query) && (result.numAffectedRows === undefined || result.numAffectedRows > 0n)) {
      // Outside a transaction the statement committed as it ran; inside, it counts at commit.
      if (this.inTransaction) this.wrote = true;
      else this.changes.moved();
    }
    return result;
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

class WriteWatchingDriver implements Driver {
  savepoint?: Driver["savepoint"];
  rollbackToSavepoint?: Driver["rollbackToSavepoint"];
  releaseSavepoint?: Driver["releaseSavepoint"];

  constructor(
    private readonly inner: Driver,
    private readonly changes: Changes,
  ) {
    const savepoints = ["savepoint", "rollbackToSavepoint", "releaseSavepoint"] as const;
    for (const name of savepoints) {
      const method = inner[name];
      if (method)
        this[name] = (connection: DatabaseConnection, savepoint: string, compile: QueryCompiler["compileQuery"]) =>
          method.call(inner, (connection as WatchedConnection).inner, savepoint, compile);
    }
  }

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new WatchedConnection(await this.inner.acquireConnection(), this.changes);
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const watched = connection as WatchedConnection;
    await this.inner.beginTransaction(watched.inner, settings);
    watched.inTransaction = true;
    watched.wrote = false;
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    // A failed commit may still have committed (a lost connection after COMMIT was sent): it counts.
    return this.endTransaction(connection as WatchedConnection, true, (inner) => this.inner.commitTransaction(inner));
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.endTransaction(connection as WatchedConnection, false, (inner) =>
      this.inner.rollbackTransaction(inner),
    );
  }

  /** Ends the transaction; if it `commits` and wrote something that counts, moves the generation, even when ending failed. */
  private async endTransaction(
    watched: WatchedConnection,
    commits: boolean,
    end: (inner: DatabaseConnection) => Promise<void>,
  ): Promise<void> {
    try {
      await end(watched.inner);
    } finally {
      if (commits && watched.wrote) this.changes.moved();
      watched.inTransaction = false;
      watched.wrote = false;
    }
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection((connection as WatchedConnection).inner);
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

/** `dialect`, with every committed write through it that may change a remembered read moving `changes`. */
export function watchingWrites(dialect: Dialect, changes: Changes): Dialect {
  return {
    createDriver: () => new WriteWatchingDriver(dialect.createDriver(), changes),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
  };
}
