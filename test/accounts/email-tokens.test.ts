import assert from "node:assert/strict";
import { test } from "node:test";
import type { EmailTokenStore } from "../../src/domain/ports.js";
import { sha256Hex } from "../../src/domain/lib/secret-box.js";
import { openDatabase } from "../../src/storage/database.js";
import { createEmailTokenStore } from "../../src/storage/email-tokens.js";
import { migrateToLatest } from "../../src/storage/migrations.js";
import { createUserStore } from "../../src/storage/users.js";
import { engines, type EngineUnderTest } from "../helpers/engines.js";

const NOW = new Date("2026-01-15T10:00:00Z");
const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

async function withStore(engine: EngineUnderTest, run: (store: EmailTokenStore, userId: string) => Promise<void>) {
  const created = await engine.create();
  const database = openDatabase(created.url);
  try {
    await migrateToLatest(database.db);
    const user = await createUserStore(database.db, {
      bytes: (n) => Buffer.alloc(n),
      uuid: () => crypto.randomUUID(),
    }).create(
      { email: "t@example.com", passwordHash: "x", roles: ["ROLE_USER"], emailConfirmedAt: null, deactivatedAt: null },
      NOW,
    );
    await run(createEmailTokenStore(database.db), user!.id);
  } finally {
    await database.close();
    await created.drop();
  }
}

const token = (name: string, userId: string, purpose: "confirm" | "reset" = "reset", ttlSeconds = 3600) => ({
  tokenHash: sha256Hex(name),
  userId,
  purpose,
  createdAt: NOW,
  expiresAt: later(ttlSeconds),
});

for (const { engine, skip } of engines) {
  test(`${engine.name}: of two concurrent consumers of an email token exactly one wins`, { skip }, async () => {
    await withStore(engine, async (store, userId) => {
      await store.create(token("a", userId));
      const results = await Promise.all([
        store.consume(sha256Hex("a"), "reset", NOW),
        store.consume(sha256Hex("a"), "reset", NOW),
      ]);
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await store.consume(sha256Hex("a"), "reset", later(1)), null);
      assert.equal(await store.findLive(sha256Hex("a"), "reset", later(1)), null);
    });
  });

  test(`${engine.name}: an email token is refused once expired or for another purpose`, { skip }, async () => {
    await withStore(engine, async (store, userId) => {
      await store.create(token("b", userId, "confirm", 60));
      assert.equal(await store.consume(sha256Hex("b"), "reset", NOW), null);
      assert.equal(await store.consume(sha256Hex("b"), "confirm", later(60)), null);
      assert.ok(await store.findLive(sha256Hex("b"), "confirm", later(59)));
      assert.equal((await store.consume(sha256Hex("b"), "confirm", later(59)))?.userId, userId);
    });
  });

  test(`${engine.name}: revokeForUser spends the user's unused tokens of one purpose only`, { skip }, async () => {
    await withStore(engine, async (store, userId) => {
      await store.create(token("r1", userId));
      await store.create(token("r2", userId));
      await store.create(token("c1", userId, "confirm"));
      assert.equal(await store.revokeForUser(userId, "reset", NOW), 2);
      assert.equal(await store.consume(sha256Hex("r2"), "reset", NOW), null);
      assert.ok(await store.consume(sha256Hex("c1"), "confirm", NOW));
    });
  });
}
