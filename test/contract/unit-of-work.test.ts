import assert from "node:assert/strict";
import { test } from "node:test";
import { systemRandom } from "../../src/deps.js";
import type { UnitOfWork } from "../../src/domain/unit-of-work.js";
import { createStores, createUnitOfWork } from "../../src/storage/stores.js";
import { openTestDatabase, type TestDatabase } from "../helpers/database.js";
import { engines } from "../helpers/engines.js";
import { newSession } from "./harness.js";

const NOW = new Date("2026-01-15T10:00:00Z");
const LATER = new Date("2026-01-15T11:00:00Z");
const newUser = (email: string) => ({
  email,
  passwordHash: "x",
  roles: ["ROLE_USER"],
  emailConfirmedAt: NOW,
  deactivatedAt: null,
});

class Boom extends Error {}

for (const { engine, skip } of engines) {
  const withDatabase = (run: (db: TestDatabase, uow: UnitOfWork) => Promise<void>) => async () => {
    const db = await openTestDatabase(engine);
    try {
      await run(db, createUnitOfWork(db.database.db, db.database.engine, systemRandom));
    } finally {
      await db.close();
    }
  };

  test(
    `${engine.name}: a unit of work that throws leaves nothing behind, across every store it wrote`,
    { skip },
    withDatabase(async (db, uow) => {
      const stores = createStores(db.database.db, db.database.engine, systemRandom);
      let userId = "";
      await assert.rejects(
        uow.transaction(async (tx) => {
          const user = (await tx.users.create(newUser("gone@example.com"), NOW))!;
          userId = user.id;
          await tx.events.record({ userId, type: "user_registered", ip: null, userAgent: null }, NOW);
          // The store's own transaction (session + first refresh token) joins this one.
          await tx.sessions.createSession(
            { ...newSession("s-1", userId, NOW), expiresAt: LATER },
            { tokenHash: "h-1", expiresAt: LATER },
          );
          await tx.backupCodes.replaceAll(userId, ["c1", "c2"], NOW);
          // A nested unit of work joins the open transaction too.
          await tx.transaction((inner) => inner.users.confirmEmail(userId, NOW));
          throw new Boom();
        }),
        Boom,
      );
      assert.equal(await stores.users.findByEmail("gone@example.com"), null);
      assert.deepEqual(await stores.events.listForUser(userId, 10), []);
      assert.equal(await stores.sessions.findSession("s-1"), null);
      assert.equal(await stores.sessions.findRefreshToken("h-1"), null);
      assert.equal(await stores.backupCodes.countUnused(userId), 0);
    }),
  );

  test(
    `${engine.name}: the hot-path reads outside a unit of work never see its uncommitted writes`,
    { skip },
    withDatabase(async (db, uow) => {
      // The stores of the running process, with the hand-written reads of login and GET /api/v1/me.
      const stores = createStores(db.database.db, db.database.engine, systemRandom, db.database.reader);
      const user = (await stores.users.create(newUser("dirty@example.com"), NOW))!;
      await stores.sessions.createSession(
        { ...newSession("s-1", user.id, NOW), expiresAt: LATER },
        { tokenHash: "h-1", expiresAt: LATER },
      );
      await stores.factors.savePending({ userId: user.id, type: "totp", secretEnc: "secret" }, NOW);
      const before = await stores.factors.listForUser(user.id);
      let reads: Promise<unknown[]> = Promise.resolve([]);
      await assert.rejects(
        uow.transaction(async (tx) => {
          await tx.factors.removeAll(user.id, "totp");
          await tx.sessions.revokeSession("s-1", "logout", NOW);
          // Asked while the transaction is open and has written: what they answer must be committed state.
          reads = Promise.all([stores.factors.listForUser(user.id), stores.sessions.findSessionWithUser("s-1")]);
          await new Promise((resolve) => setTimeout(resolve, 20));
          throw new Boom();
        }),
        Boom,
      );
      const [factors, found] = (await reads) as [unknown, { session: { revokedAt: Date | null } } | null];
      assert.deepEqual(factors, before, "the factor deleted by a rolled-back transaction was never gone");
      assert.equal(found?.session.revokedAt, null, "nor was the session revoked");
    }),
  );

  test(
    `${engine.name}: a unit of work that returns commits every write and hands back its result`,
    { skip },
    withDatabase(async (db, uow) => {
      const stores = createStores(db.database.db, db.database.engine, systemRandom);
      const id = await uow.transaction(async (tx) => {
        const user = (await tx.users.create(newUser("kept@example.com"), NOW))!;
        await tx.events.record({ userId: user.id, type: "user_registered", ip: null, userAgent: null }, NOW);
        await tx.backupCodes.replaceAll(user.id, ["c1", "c2"], NOW);
        return user.id;
      });
      assert.equal((await stores.users.findByEmail("kept@example.com"))?.id, id);
      assert.equal((await stores.events.listForUser(id, 10)).length, 1);
      assert.equal(await stores.backupCodes.countUnused(id), 2);
    }),
  );

  test(
    `${engine.name}: a password change committed first makes confirmPasswordEpoch refuse the old epoch`,
    { skip },
    withDatabase(async (db, uow) => {
      const stores = createStores(db.database.db, db.database.engine, systemRandom);
      const user = (await stores.users.create(newUser("epoch@example.com"), NOW))!;
      assert.equal(user.passwordEpoch, 0);
      // A rehash of the same password keeps the epoch; a reset or a change moves it on.
      assert.equal(await stores.users.replacePasswordHash(user.id, "x", "x2", NOW), true);
      assert.equal(await uow.transaction((tx) => tx.users.confirmPasswordEpoch(user.id, 0)), true);
      await stores.users.setPasswordHash(user.id, "y", NOW);
      assert.equal(await uow.transaction((tx) => tx.users.confirmPasswordEpoch(user.id, 0)), false);
      assert.equal(await stores.users.changePasswordHash(user.id, "stale", "z", NOW), false);
      assert.equal(await stores.users.changePasswordHash(user.id, "y", "z", NOW), true);
      assert.equal((await stores.users.findById(user.id))?.passwordEpoch, 2);
    }),
  );
}
