/**
 * IdentityStore contract: a (provider, subject) pair has one owner whatever races, the writes of
 * several statements are all or nothing, and every operation behaves the same inside a unit of
 * work, where a refused write must leave the caller's transaction usable.
 */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, describe, test } from "node:test";
import type { IdentityStore, NewIdentity } from "../../src/domain/federation/ports.js";
import type { NewUser } from "../../src/domain/accounts/ports.js";
import type { Stores, Tx } from "../../src/domain/unit-of-work.js";
import { atSeconds as at, lazily, newSession, T0, type OwnedStoreHarness } from "./harness.js";

export interface IdentityStoreHarness extends OwnedStoreHarness<IdentityStore> {
  /** Every store of the same database: the users, links and sessions a takeover changes. */
  stores: Stores;
  /** The unit of work over the same database; `tx.identities` is the store under test, bound to it. */
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
}

const subject = () => crypto.randomBytes(8).toString("hex");
const address = (name: string) => `${name}.${crypto.randomBytes(4).toString("hex")}@gmail.com`;
const google = (email: string | null = null): Omit<NewIdentity, "userId"> => ({
  provider: "google",
  subject: subject(),
  email,
});
const newUser = (email: string, overrides: Partial<NewUser> = {}): NewUser => ({
  email,
  passwordHash: "!",
  roles: ["ROLE_USER"],
  emailConfirmedAt: T0,
  deactivatedAt: null,
  ...overrides,
});

class Boom extends Error {}

export function identityStoreContract(
  name: string,
  make: () => Promise<IdentityStoreHarness>,
  options: { skip?: string } = {},
) {
  describe(name, { skip: options.skip }, () => {
    const harness = lazily(make);
    after(harness.close);

    /** An unconfirmed account with a pending password, a live confirmation link and a session. */
    const unconfirmedAccount = async (h: IdentityStoreHarness) => {
      const user = (await h.stores.users.create(
        newUser(address("pending"), { passwordHash: "pending-hash", emailConfirmedAt: null }),
        T0,
      ))!;
      const linkHash = crypto.randomBytes(32).toString("hex");
      await h.stores.emailTokens.create({
        tokenHash: linkHash,
        userId: user.id,
        purpose: "confirm",
        createdAt: T0,
        expiresAt: at(86_400),
      });
      const sessionId = crypto.randomUUID();
      await h.stores.sessions.createSession(newSession(sessionId, user.id), {
        tokenHash: crypto.randomBytes(32).toString("hex"),
        expiresAt: at(3600),
      });
      return { user, linkHash, sessionId };
    };

    test("link, find by (provider, subject), list per user oldest first, touch", async () => {
      const h = await harness.open();
      const userId = await h.newUserId();
      const first = google("ana@gmail.com");
      const linked = await h.store.link({ ...first, userId }, T0);
      assert.deepEqual(linked, { id: linked!.id, userId, ...first, createdAt: T0, lastUsedAt: T0 });
      const apple = await h.store.link({ userId, provider: "apple", subject: first.subject, email: null }, at(5));
      assert.ok(apple, "the same subject at another provider is another identity");
      assert.deepEqual(await h.store.findBySubject("google", first.subject), linked);
      assert.deepEqual(await h.store.listForUser(userId), [linked, apple]);
      assert.equal(await h.store.findBySubject("google", subject()), null);

      await h.store.touch(linked!.id, "ana.pop@gmail.com", at(9));
      const touched = await h.store.findBySubject("google", first.subject);
      assert.deepEqual([touched?.email, touched?.lastUsedAt], ["ana.pop@gmail.com", at(9)]);
    });

    test("(provider, subject) has one owner: a second link is null, for anyone", async () => {
      const h = await harness.open();
      const [userId, otherId] = [await h.newUserId(), await h.newUserId()];
      const identity = google();
      assert.ok(await h.store.link({ ...identity, userId }, T0));
      assert.equal(await h.store.link({ ...identity, userId }, at(1)), null);
      assert.equal(await h.store.link({ ...identity, userId: otherId }, at(1)), null);
      assert.deepEqual(await h.store.listForUser(otherId), []);
    });

    test("of concurrent links of one subject, from two connections, exactly one wins", async () => {
      const h = await harness.open();
      const other = h.another();
      const owners = [await h.newUserId(), await h.newUserId()];
      const identity = google();
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 ? other : h.store).link({ ...identity, userId: owners[i % 2]! }, T0),
        ),
      );
      assert.equal(results.filter(Boolean).length, 1);
      const found = await h.store.findBySubject("google", identity.subject);
      assert.equal(found?.id, results.find(Boolean)?.id);
    });

    test("createUserWithIdentity makes both, or nothing when the address or the identity is taken", async () => {
      const h = await harness.open();
      const email = address("new");
      const identity = google(email);
      const created = await h.store.createUserWithIdentity(newUser(email), identity, T0);
      assert.equal(created?.email, email);
      assert.equal((await h.store.findBySubject("google", identity.subject))?.userId, created!.id);

      const another = google(email);
      assert.equal(await h.store.createUserWithIdentity(newUser(email), another, T0), null, "address taken");
      assert.equal(await h.store.findBySubject("google", another.subject), null, "no identity without its user");

      const fresh = address("fresh");
      assert.equal(await h.store.createUserWithIdentity(newUser(fresh), identity, T0), null, "identity taken");
      assert.equal(await h.stores.users.findByEmail(fresh), null, "no user without its identity");
    });

    // Transactions of several statements race through one pool (PostgreSQL: several connections).
    // Two SQLite connections in one process cannot: the second one's `begin immediate` would
    // wait synchronously for the first, which can then never finish.
    test("concurrent first sign-ins of one person: one account, one identity", async () => {
      const h = await harness.open();
      const email = address("twice");
      const identity = google(email);
      const results = await Promise.all(
        Array.from({ length: 4 }, () => h.store.createUserWithIdentity(newUser(email), identity, T0)),
      );
      assert.equal(results.filter(Boolean).length, 1);
      const owner = (await h.stores.users.findByEmail(email))!;
      assert.deepEqual(
        (await h.store.listForUser(owner.id)).map((i) => i.subject),
        [identity.subject],
      );
    });

    test("takeOverUnconfirmed: the pending password goes, links and sessions end, the identity is linked", async () => {
      const h = await harness.open();
      const { user, linkHash, sessionId } = await unconfirmedAccount(h);
      const identity = google(user.email);
      assert.equal(await h.store.takeOverUnconfirmed(user.id, "!", identity, at(10)), true);
      const after = (await h.stores.users.findById(user.id))!;
      assert.deepEqual(
        [after.passwordHash, after.passwordEpoch, after.emailConfirmedAt],
        ["!", user.passwordEpoch + 1, at(10)],
      );
      assert.equal(await h.stores.emailTokens.findLive(linkHash, "confirm", at(11)), null);
      assert.deepEqual((await h.stores.sessions.findSession(sessionId))?.revokedAt, at(10));
      assert.equal((await h.store.findBySubject("google", identity.subject))?.userId, user.id);

      // Confirmed now: a second takeover writes nothing.
      const late = google(user.email);
      assert.equal(await h.store.takeOverUnconfirmed(user.id, "!", late, at(20)), false);
      assert.equal(await h.store.findBySubject("google", late.subject), null);
    });

    test("takeOverUnconfirmed with an identity taken meanwhile writes nothing at all", async () => {
      const h = await harness.open();
      const { user, linkHash, sessionId } = await unconfirmedAccount(h);
      const taken = google();
      await h.store.link({ ...taken, userId: await h.newUserId() }, T0);
      assert.equal(await h.store.takeOverUnconfirmed(user.id, "!", taken, at(10)), false);
      const after = (await h.stores.users.findById(user.id))!;
      assert.deepEqual(
        [after.passwordHash, after.passwordEpoch, after.emailConfirmedAt],
        ["pending-hash", user.passwordEpoch, null],
      );
      assert.ok(await h.stores.emailTokens.findLive(linkHash, "confirm", at(11)));
      assert.equal((await h.stores.sessions.findSession(sessionId))?.revokedAt, null);
    });

    test("unlink: another user's is not found; never the last way in, even for two at once", async () => {
      const h = await harness.open();
      const [userId, otherId] = [await h.newUserId(), await h.newUserId()];
      const theirs = (await h.store.link({ ...google(), userId: otherId }, T0))!;
      assert.equal(await h.store.unlink(userId, theirs.id, true), "not_found");
      assert.equal(await h.store.unlink(otherId, theirs.id, false), "last_way_in");
      assert.equal(await h.store.unlink(otherId, theirs.id, true), "deleted");
      assert.equal(await h.store.unlink(otherId, theirs.id, true), "not_found");

      const mine = [
        (await h.store.link({ ...google(), userId }, T0))!,
        (await h.store.link({ ...google(), userId }, T0))!,
      ];
      const outcomes = await Promise.all([
        h.store.unlink(userId, mine[0]!.id, false),
        h.store.unlink(userId, mine[1]!.id, false),
      ]);
      assert.deepEqual(outcomes.sort(), ["deleted", "last_way_in"]);
      assert.equal((await h.store.listForUser(userId)).length, 1);
    });

    test("inside a unit of work a refused write writes nothing and the transaction goes on", async () => {
      const h = await harness.open();
      const owner = await h.newUserId();
      const taken = google();
      await h.store.link({ ...taken, userId: owner }, T0);
      const { user: pending } = await unconfirmedAccount(h);
      const fresh = address("fresh");
      const later = google();
      const someoneElse = await h.newUserId();
      // Only `tx` inside: on SQLite a store outside it would wait for the transaction, which waits for it.
      const kept = await h.transaction(async (tx) => {
        assert.equal(await tx.identities.link({ ...taken, userId: someoneElse }, T0), null);
        assert.equal(await tx.identities.createUserWithIdentity(newUser(fresh), taken, T0), null);
        assert.equal(await tx.identities.takeOverUnconfirmed(pending.id, "!", taken, T0), false);
        // PostgreSQL aborts a transaction at its first failed statement: these would fail with it.
        assert.equal(await tx.users.findByEmail(fresh), null);
        return tx.identities.link({ ...later, userId: owner }, T0);
      });
      assert.equal((await h.store.findBySubject("google", later.subject))?.id, kept?.id);
      assert.equal(await h.stores.users.findByEmail(fresh), null);
      assert.equal((await h.stores.users.findById(pending.id))?.passwordHash, "pending-hash");
    });

    test("inside a unit of work that fails, the account and identity it created go with it", async () => {
      const h = await harness.open();
      const email = address("rolled-back");
      const identity = google(email);
      await assert.rejects(
        h.transaction(async (tx) => {
          assert.ok(await tx.identities.createUserWithIdentity(newUser(email), identity, T0));
          throw new Boom();
        }),
        Boom,
      );
      assert.equal(await h.stores.users.findByEmail(email), null);
      assert.equal(await h.store.findBySubject("google", identity.subject), null);
    });

    test("deleteAllForUser removes the user's identities and no one else's", async () => {
      const h = await harness.open();
      const [userId, otherId] = [await h.newUserId(), await h.newUserId()];
      await h.store.link({ ...google(), userId }, T0);
      await h.store.link({ ...google(), userId }, T0);
      const theirs = (await h.store.link({ ...google(), userId: otherId }, T0))!;
      await h.store.deleteAllForUser(userId);
      assert.deepEqual(await h.store.listForUser(userId), []);
      assert.deepEqual(await h.store.listForUser(otherId), [theirs]);
    });
  });
}
