import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { test } from "node:test";
import type { OutgoingMail } from "../../src/domain/lib/ports.js";
import { createLogger } from "../../src/log.js";
import { MailQueue, type RetryPolicy } from "../../src/mail/queue.js";
import { createSmtpTransport } from "../../src/mail/transport.js";
import { openDatabase } from "../../src/storage/database.js";
import { migrateToLatest } from "../../src/storage/migrations.js";
import { createSecurityEventStore } from "../../src/storage/security-events.js";
import { FixedClock } from "../helpers/warden.js";
import { linkToken, startSmtp, type TestSmtp } from "./smtp.js";

const TOKEN = "T0kenThatMustNeverReachTheLog_0123456789abc";

const mail: OutgoingMail = {
  kind: "reset_password",
  to: "queue@example.com",
  userId: "user-1",
  locale: "en",
  firstName: null,
  link: `http://warden.test/reset-password?token=${TOKEN}`,
  linkTtlHours: 1,
  occurredAt: new Date("2026-01-15T10:00:00Z"),
  ip: null,
};

/** A queue sending to `smtp`, recording events in a real SQLite database. */
async function startQueue(smtp: TestSmtp, retry: RetryPolicy) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "warden-queue-"));
  const database = openDatabase(`sqlite:${path.join(dir, "q.db")}`);
  await migrateToLatest(database.db);
  const logLines: string[] = [];
  const sink = new Writable({ write: (chunk, _e, done) => (logLines.push(String(chunk)), done()) });
  const queue = new MailQueue({
    transport: createSmtpTransport(smtp.url),
    brand: { productName: "Warden", appUrl: "http://warden.test" },
    from: "Warden <no-reply@warden.test>",
    log: createLogger("info", sink),
    events: createSecurityEventStore(database.db, { bytes: (n) => Buffer.alloc(n), uuid: () => crypto.randomUUID() }),
    clock: new FixedClock(),
    retry,
  });
  return {
    queue,
    logLines,
    events: () => database.db.selectFrom("security_events").selectAll().execute(),
    async close() {
      await queue.close(1_000);
      await database.close();
      await smtp.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

test("a mail the server refuses twice (451) is delivered on the third try", async () => {
  const smtp = await startSmtp({ reject: (n) => (n <= 2 ? 451 : null) });
  const q = await startQueue(smtp, { attempts: 4, baseDelayMs: 5, factor: 2 });
  try {
    q.queue.enqueue(mail);
    assert.equal(linkToken(await smtp.nextMail("queue@example.com"), "/reset-password"), TOKEN);
    await q.queue.idle();
    assert.equal(q.logLines.filter((l) => l.includes("will retry")).length, 2);
    assert.deepEqual(await q.events(), []);
  } finally {
    await q.close();
  }
});

test("a mail that always fails is logged without its token and recorded as mail_failed", async () => {
  const smtp = await startSmtp({ reject: () => 550 });
  const q = await startQueue(smtp, { attempts: 3, baseDelayMs: 5, factor: 2 });
  try {
    q.queue.enqueue(mail);
    await q.queue.idle();
    const events = await q.events();
    assert.equal(events.length, 1);
    assert.equal(events[0]!.type, "mail_failed");
    assert.equal(events[0]!.user_id, "user-1");
    assert.deepEqual(JSON.parse(events[0]!.detail!), {
      kind: "reset_password",
      attempts: 3,
      reason: "delivery_failed",
    });
    const failure = q.logLines.map((l) => JSON.parse(l)).find((entry) => entry.msg === "mail could not be delivered");
    assert.equal(failure?.level, 50);
    assert.match(failure?.err, /550/);
    assert.ok(!q.logLines.join("").includes(TOKEN), "the token never reaches the log");
  } finally {
    await q.close();
  }
});

test("close() tries a mail waiting for its retry once more, then records it instead of dropping it", async () => {
  const smtp = await startSmtp({ reject: () => 451 });
  const q = await startQueue(smtp, { attempts: 6, baseDelayMs: 60_000, factor: 4 });
  try {
    q.queue.enqueue(mail);
    while (!q.logLines.some((l) => l.includes("will retry"))) await new Promise((resolve) => setTimeout(resolve, 5));
    await q.queue.close(1_000);
    const events = await q.events();
    assert.deepEqual(
      events.map((e) => [e.type, JSON.parse(e.detail!).attempts]),
      [["mail_failed", 2]],
    );
    q.queue.enqueue(mail);
    await q.queue.idle();
    assert.deepEqual(
      (await q.events()).map((e) => JSON.parse(e.detail!).reason),
      ["delivery_failed", "shutdown"],
    );
  } finally {
    await q.close();
  }
});

test("prepare (storing the link's token) runs before the send, once, and is retried while it fails", async () => {
  const smtp = await startSmtp({ reject: (n) => (n === 1 ? 451 : null) });
  const q = await startQueue(smtp, { attempts: 4, baseDelayMs: 5, factor: 2 });
  try {
    const calls: string[] = [];
    q.queue.enqueue(mail, async () => {
      calls.push(smtp.received.length === 0 ? "before send" : "after send");
      if (calls.length === 1) throw new Error("database briefly unavailable");
    });
    await smtp.nextMail("queue@example.com");
    await q.queue.idle();
    // Try 1: prepare fails. Try 2: prepare succeeds, the server refuses. Try 3: delivered, no second prepare.
    assert.deepEqual(calls, ["before send", "before send"]);
    assert.equal(q.logLines.filter((l) => l.includes("will retry")).length, 2);
  } finally {
    await q.close();
  }
});
