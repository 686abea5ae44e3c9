import cluster from "node:cluster";
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { HashPriority } from "./domain/factors/password/hasher.js";
import type { SecurityEventStore } from "./domain/security/ports.js";
import type { Tx, UnitOfWork } from "./domain/unit-of-work.js";

const HASH_PRIORITIES: readonly HashPriority[] = ["login", "reauth"];

/** What the gauges read when scraped. */
interface Sources {
  hashQueueDepth: (priority: HashPriority) => number;
  mailQueueDepth: () => number;
}

/**
 * Warden's Prometheus metrics, one registry per process (tests build several apps in one
 * process, so nothing goes into prom-client's global registry). With WORKERS > 1 the cluster
 * primary aggregates every worker's registry (see `serveClusterMetrics`), so /metrics on any
 * worker reports the whole process group.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly sources: Partial<Sources> = {};
  private readonly r = [this.registry];

  readonly httpRequests = new Counter({
    name: "warden_http_requests_total",
    help: "HTTP requests answered, by method, route pattern and status",
    labelNames: ["method", "route", "status"] as const,
    registers: this.r,
  });
  readonly httpDuration = new Histogram({
    name: "warden_http_request_duration_seconds",
    help: "Time from request to response, by method and route pattern",
    labelNames: ["method", "route"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: this.r,
  });
  readonly logins = new Counter({
    name: "warden_logins_total",
    help: "Logins by method (password, passkey, google, apple) and outcome (success, mfa_required, invalid_credentials, rate_limited, shed, ...)",
    labelNames: ["method", "outcome"] as const,
    registers: this.r,
  });
  readonly refreshes = new Counter({
    name: "warden_refreshes_total",
    help: "Refresh-token exchanges by outcome (rotated, grace_replay, reuse_detected, invalid, expired, ...)",
    labelNames: ["outcome"] as const,
    registers: this.r,
  });
  readonly mfaVerifications = new Counter({
    name: "warden_mfa_verifications_total",
    help: "Second-factor verifications by outcome (success, invalid_code, invalid_challenge, too_many_attempts, ...)",
    labelNames: ["outcome"] as const,
    registers: this.r,
  });
  readonly apiKeyAuthentications = new Counter({
    name: "warden_api_key_authentications_total",
    help: "API-key authentications on Warden's endpoints by outcome (success, invalid, refused_endpoint, rate_limited, account_inactive)",
    labelNames: ["outcome"] as const,
    registers: this.r,
  });
  readonly introspections = new Counter({
    name: "warden_introspections_total",
    help: "Introspection requests by outcome (active, inactive, unauthorized)",
    labelNames: ["outcome"] as const,
    registers: this.r,
  });
  readonly securityEvents = new Counter({
    name: "warden_security_events_total",
    help: "Security events recorded, by type",
    labelNames: ["type"] as const,
    registers: this.r,
  });
  readonly shed = new Counter({
    name: "warden_requests_shed_total",
    help: "Requests refused with 503 because the password-hashing queue was full or too slow",
    labelNames: ["route"] as const,
    registers: this.r,
  });
  readonly rateLimited = new Counter({
    name: "warden_rate_limited_total",
    help: "Requests refused with 429, by route pattern",
    labelNames: ["route"] as const,
    registers: this.r,
  });
  readonly hashWait = new Histogram({
    name: "warden_hash_queue_wait_seconds",
    help: "Time a password hash waited for a hashing slot, by priority (login, reauth)",
    labelNames: ["priority"] as const,
    buckets: [0, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: this.r,
  });
  readonly databaseErrors = new Counter({
    name: "warden_database_errors_total",
    help: "Database queries that failed because the database was unreachable, overloaded or too slow (and lost pool connections)",
    registers: this.r,
  });
  readonly redisErrors = new Counter({
    name: "warden_redis_errors_total",
    help: "Redis connection errors, and counter commands answered per instance because Redis failed",
    registers: this.r,
  });
  readonly mailFailures = new Counter({
    name: "warden_mail_failures_total",
    help: "Mails given up on after their retries",
    registers: this.r,
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    const sources = this.sources;
    new Gauge({
      name: "warden_hash_queue_depth",
      help: "Password hashes waiting for a hashing slot, by priority (login, reauth)",
      labelNames: ["priority"] as const,
      registers: this.r,
      collect() {
        for (const priority of HASH_PRIORITIES) this.set({ priority }, sources.hashQueueDepth?.(priority) ?? 0);
      },
    });
    new Gauge({
      name: "warden_mail_queue_depth",
      help: "Mails queued, sending or waiting for a retry",
      registers: this.r,
      collect() {
        this.set(sources.mailQueueDepth?.() ?? 0);
      },
    });
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: "warden_" });
  }

  /** Gauges read their value when scraped. */
  watch(sources: Sources): void {
    Object.assign(this.sources, sources);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** This process's metrics, or, in a cluster worker, the whole group's (asked of the primary). */
  async text(): Promise<string> {
    if (cluster.isWorker && process.send) return askPrimary();
    return this.registry.metrics();
  }

  /** In a cluster worker: lets the primary's AggregatorRegistry read this registry. */
  joinCluster(): void {
    // Constructing one is what makes prom-client answer the primary's requests in a worker.
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([this.registry]);
  }
}

const REQUEST = "warden:metrics-request";
const RESPONSE = "warden:metrics-response";
const PRIMARY_TIMEOUT_MS = 5_000;
let nextRequestId = 0;

function askPrimary(): Promise<string> {
  const id = ++nextRequestId;
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type?: string; id?: number; text?: string; error?: string }) => {
      if (message?.type !== RESPONSE || message.id !== id) return;
      clearTimeout(timer);
      process.off("message", onMessage);
      if (message.error !== undefined) reject(new Error(message.error));
      else resolve(message.text ?? "");
    };
    const timer = setTimeout(() => {
      process.off("message", onMessage);
      reject(new Error("the cluster primary did not answer the metrics request"));
    }, PRIMARY_TIMEOUT_MS);
    process.on("message", onMessage);
    process.send!({ type: REQUEST, id });
  });
}

/** In the cluster primary: answers workers' /metrics requests with every worker's metrics summed. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on("message", (worker, message: { type?: string; id?: number }) => {
    if (message?.type !== REQUEST) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: RESPONSE, id: message.id, text }),
      (error: unknown) => worker.send({ type: RESPONSE, id: message.id, error: String(error) }),
    );
  });
}

/**
 * What the domain did during one request, for outcome labels the status alone cannot tell (a
 * reuse detection is a 401 like any bad token): the types of the security events recorded for
 * it (`RequestContext.noteEvent`), and the error it was answered with.
 */
export interface RequestObservation {
  events: string[];
  errorCode?: string;
}

/** Counts every security event. */
export function observedEventStore(store: SecurityEventStore, metrics: Metrics): SecurityEventStore {
  return {
    ...store,
    async record(event, now) {
      await store.record(event, now);
      metrics.securityEvents.inc({ type: event.type });
      if (event.type === "mail_failed") metrics.mailFailures.inc();
    },
    listForUser: (...args) => store.listForUser(...args),
  };
}

/** The unit of work with its transactions' event stores observed too (the stores are made anew per transaction). */
export function observedUnitOfWork(unitOfWork: UnitOfWork, metrics: Metrics): UnitOfWork {
  return {
    transaction: (work) =>
      unitOfWork.transaction((tx) => {
        const observed: Tx = {
          ...tx,
          events: observedEventStore(tx.events, metrics),
          transaction: (inner) => inner(observed),
        };
        return work(observed);
      }),
  };
}
