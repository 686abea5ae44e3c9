import type { Logger } from "pino";
import type { Clock, Mailer, OutgoingMail } from "../domain/lib/ports.js";
import type { SecurityEventStore } from "../domain/security/ports.js";
import { renderMail, type Brand } from "./templates/index.js";
import type { Envelope, MailTransport } from "./transport.js";

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** Wait before the first retry; each later wait is `factor` times longer. */
  baseDelayMs: number;
  factor: number;
}

/** 6 tries over about 11 minutes: 2 s, 8 s, 32 s, ~2 min, ~8.5 min. Rides out a mail server restart. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 2_000, factor: 4 };
/** Sends at once; more would only queue at the SMTP server. */
const CONCURRENCY = 4;
/** Mails held in memory at most; beyond that a mail is refused and recorded (the server is in trouble). */
const MAX_PENDING = 10_000;

interface Job {
  mail: OutgoingMail;
  /** Cleared once it has succeeded. */
  prepare?: () => Promise<void>;
  attempts: number;
  timer?: NodeJS.Timeout;
}

export interface MailQueueOptions {
  transport: MailTransport;
  brand: Brand;
  from: string;
  log: Logger;
  events: SecurityEventStore;
  clock: Clock;
  retry?: RetryPolicy;
}

/**
 * The Mailer: an in-memory queue with retries and exponential backoff. Kept in memory on
 * purpose: a persisted queue would store live confirmation/reset links at rest, and every mail
 * here can be asked for again (resend-confirmation, forgot-password) or is a notice. A mail
 * that finally fails, or is still queued when the process stops (close() drains for a bounded
 * time), is logged without its link and recorded as a `mail_failed` security event.
 */
export class MailQueue implements Mailer {
  private readonly waiting: Job[] = [];
  private readonly retrying = new Set<Job>();
  private readonly sending = new Set<Job>();
  /** Failures being written to the security record; idle() waits for them too. */
  private readonly recording = new Set<Promise<void>>();
  private idleWaiters: Array<() => void> = [];
  private closed = false;
  private pumpScheduled: NodeJS.Immediate | undefined;
  private readonly retry: RetryPolicy;

  constructor(private readonly options: MailQueueOptions) {
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  get pending(): number {
    return this.waiting.length + this.retrying.size + this.sending.size + this.recording.size;
  }

  enqueue(mail: OutgoingMail, prepare?: () => Promise<void>): void {
    if (this.closed || this.pending >= MAX_PENDING) {
      void this.fail({ mail, attempts: 0 }, this.closed ? "shutdown" : "queue_full");
      return;
    }
    this.waiting.push({ mail, prepare, attempts: 0 });
    // Preparing, rendering and sending start on a later turn of the event loop, after the
    // response is on its way: a request that queues a mail takes no longer than one that does not.
    this.pumpScheduled ??= setImmediate(() => {
      this.pumpScheduled = undefined;
      this.pump();
    });
  }

  /** Resolves when nothing is queued, retrying or being sent. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops taking mail and waits up to `drainMs` for what is queued. Mails still waiting for a
   * retry, or not sent within the bound, are recorded as failed: the log says which, and the
   * user can ask again.
   */
  async close(drainMs: number): Promise<void> {
    this.closed = true;
    for (const job of this.retrying) {
      // A retry would have waited past shutdown anyway: try it one last time now.
      clearTimeout(job.timer);
      this.retrying.delete(job);
      this.waiting.push(job);
    }
    this.pump();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)))]);
    clearTimeout(timer);
    const lost = [...this.waiting, ...this.retrying, ...this.sending];
    for (const job of this.retrying) clearTimeout(job.timer);
    this.waiting.length = 0;
    this.retrying.clear();
    this.sending.clear();
    await Promise.all(lost.map((job) => this.fail(job, "shutdown")));
    this.options.transport.close();
    this.notifyIdle();
  }

  private pump(): void {
    while (this.sending.size < CONCURRENCY && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      this.sending.add(job);
      void this.attempt(job);
    }
    this.notifyIdle();
  }

  private async attempt(job: Job): Promise<void> {
    job.attempts++;
    let envelope: Envelope;
    try {
      envelope = {
        from: this.options.from,
        to: job.mail.to,
        link: job.mail.link,
        ...renderMail(job.mail, this.options.brand),
      };
    } catch (error) {
      // A template bug will not fix itself: no retry.
      this.sending.delete(job);
      await this.fail(job, "render_failed", error);
      return this.pump();
    }
    try {
      if (job.prepare) {
        await job.prepare();
        job.prepare = undefined;
      }
      await this.options.transport.send(envelope);
      if (!this.sending.delete(job)) return; // close() gave up on it meanwhile
      this.options.log.info({ kind: job.mail.kind, userId: job.mail.userId, attempts: job.attempts }, "mail sent");
    } catch (error) {
      if (!this.sending.delete(job)) return;
      if (job.attempts >= this.retry.attempts || this.closed) {
        await this.fail(job, "delivery_failed", error);
      } else {
        const delayMs = this.retry.baseDelayMs * this.retry.factor ** (job.attempts - 1);
        this.options.log.warn(
          {
            kind: job.mail.kind,
            userId: job.mail.userId,
            attempts: job.attempts,
            retryInMs: delayMs,
            err: this.describe(job, error),
          },
          "mail delivery failed; will retry",
        );
        job.timer = setTimeout(() => {
          this.retrying.delete(job);
          this.waiting.push(job);
          this.pump();
        }, delayMs);
        job.timer.unref();
        this.retrying.add(job);
      }
    }
    this.pump();
  }

  /** Never silent: an error log line (without the link) and a security event on the user's record. */
  private fail(job: Job, reason: string, error?: unknown): Promise<void> {
    const recorded = this.record(job, reason, error);
    this.recording.add(recorded);
    return recorded.finally(() => {
      this.recording.delete(recorded);
      this.notifyIdle();
    });
  }

  private async record(job: Job, reason: string, error?: unknown): Promise<void> {
    const { kind, userId } = job.mail;
    this.options.log.error(
      { kind, userId, attempts: job.attempts, reason, err: error ? this.describe(job, error) : undefined },
      "mail could not be delivered",
    );
    try {
      await this.options.events.record(
        { userId, type: "mail_failed", ip: null, userAgent: null, detail: { kind, attempts: job.attempts, reason } },
        this.options.clock.now(),
      );
    } catch (recordError) {
      this.options.log.error({ kind, userId, err: String(recordError) }, "could not record mail_failed");
    }
  }

  /** The error as text, with the link's token cut out in case a server echoed it back. */
  private describe(job: Job, error: unknown): string {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const token = job.mail.link ? new URL(job.mail.link).searchParams.get("token") : null;
    return token ? text.split(token).join("[redacted]") : text;
  }

  private notifyIdle(): void {
    if (this.pending > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
