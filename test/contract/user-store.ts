/** UserStore contract: accounts, password-hash compare-and-set, confirmation, TOTP state and steps. */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { NewUser, UserStore } from "../../src/domain/accounts/ports.js";
import { lazily, type StoreHarness } from "./harness.js";

const NOW = new Date("2026-01-15T10:00:00Z");
const LATER = new Date("2026-01-15T11:00:00Z");
let n = 0;
const newUser = (over: Partial<NewUser> = {}): NewUser => ({
  email: `user${++n}@example.com`,
  passwordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
  roles: ["ROLE_USER"],
  emailConfirmedAt: NOW,
  deactivatedAt: null,
  ...over,
});

export function userStoreContract(
  name: string,
  make: () => Promise<StoreHarness<UserStore>>,
  options: { skip?: string } = {},
) {
  describe(name, { skip: options.skip }, () => {
    const harness = lazily(make);
    after(harness.close);
    const open = async () => (await harness.open()).store;

    test("create returns the record; findById and findByEmail read it back with every field", async () => {
      const users = await open();
      const created = await users.create(
        newUser({ email: "read@example.com", firstName: "Ann", lastName: "Lee", locale: "ro", emailConfirmedAt: null }),
        NOW,
      );
      assert.ok(created);
      assert.equal(created.email, "read@example.com");
      assert.deepEqual(created.roles, ["ROLE_USER"]);
      assert.deepEqual(created.preferences, {});
      assert.equal(created.firstName, "Ann");
      assert.equal(created.locale, "ro");
      assert.equal(created.emailConfirmedAt, null);
      assert.equal(created.deactivatedAt, null);
      assert.equal(created.passwordEpoch, 0);
      assert.deepEqual(created.createdAt, NOW);
      assert.deepEqual(await users.findById(created.id), created);
      assert.deepEqual(await users.findByEmail("read@example.com"), created);
      assert.equal(await users.findByEmail("nobody@example.com"), null);
      assert.equal(await users.findById("00000000-0000-0000-0000-000000000000"), null);
    });

    test("times round-trip as the same milliseconds", async () => {
      const users = await open();
      const at = new Date(1_767_225_600_123);
      const u = await users.create(newUser({ emailConfirmedAt: at, deactivatedAt: at }), at);
      const back = await users.findById(u!.id);
      assert.equal(back!.emailConfirmedAt!.getTime(), 1_767_225_600_123);
      assert.equal(back!.deactivatedAt!.getTime(), 1_767_225_600_123);
      assert.equal(back!.createdAt.getTime(), 1_767_225_600_123);
    });

    test("a taken email returns null", async () => {
      const users = await open();
      const first = await users.create(newUser({ email: "taken@example.com" }), NOW);
      assert.ok(first);
      assert.equal(await users.create(newUser({ email: "taken@example.com" }), NOW), null);
    });

    test("concurrent creates of one email from two connections: exactly one wins", async () => {
      const h = await harness.open();
      const other = h.another();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 ? other : h.store).create(newUser({ email: "race@example.com" }), NOW),
        ),
      );
      assert.equal(results.filter(Boolean).length, 1);
    });

    test("replacePasswordHash only while the hash is still the expected one", async () => {
      const users = await open();
      const u = (await users.create(newUser(), NOW))!;
      assert.equal(await users.replacePasswordHash(u.id, "$2y$13$stale", "new-1", LATER), false);
      assert.equal(await users.replacePasswordHash(u.id, u.passwordHash, "new-1", LATER), true);
      assert.equal(await users.replacePasswordHash(u.id, u.passwordHash, "new-2", LATER), false);
      const back = (await users.findById(u.id))!;
      assert.equal(back.passwordHash, "new-1");
      assert.deepEqual(back.updatedAt, LATER);
    });

    test("setPasswordHash, setDeactivated, updateProfile", async () => {
      const users = await open();
      const u = (await users.create(newUser(), NOW))!;
      await users.setPasswordHash(u.id, "replaced", LATER);
      await users.setDeactivated(u.id, LATER, LATER);
      await users.updateProfile(
        u.id,
        { firstName: "Zoe", phone: "+40 700 000 000", preferences: { theme: "dark" } },
        LATER,
      );
      let back = (await users.findById(u.id))!;
      assert.equal(back.passwordHash, "replaced");
      assert.deepEqual(back.deactivatedAt, LATER);
      assert.equal(back.firstName, "Zoe");
      assert.equal(back.phone, "+40 700 000 000");
      assert.equal(back.lastName, null);
      assert.deepEqual(back.preferences, { theme: "dark" });
      await users.setDeactivated(u.id, null, LATER);
      back = (await users.findById(u.id))!;
      assert.equal(back.deactivatedAt, null);
    });

    test("confirmPasswordEpoch with connectedAt records the connection only while the epoch holds", async () => {
      const users = await open();
      const u = (await users.create(newUser(), NOW))!;
      assert.equal(await users.confirmPasswordEpoch(u.id, u.passwordEpoch), true);
      assert.equal((await users.findById(u.id))!.lastConnectedAt, null, "without connectedAt nothing changes");
      assert.equal(await users.confirmPasswordEpoch(u.id, u.passwordEpoch, LATER), true);
      assert.deepEqual((await users.findById(u.id))!.lastConnectedAt, LATER);
      const stale = new Date(LATER.getTime() + 60_000);
      assert.equal(await users.confirmPasswordEpoch(u.id, u.passwordEpoch + 1, stale), false);
      assert.deepEqual((await users.findById(u.id))!.lastConnectedAt, LATER, "a refused epoch records nothing");
    });

    test("confirmEmail sets the time once; the second call says it already was", async () => {
      const users = await open();
      const u = (await users.create(newUser({ emailConfirmedAt: null }), NOW))!;
      assert.equal(await users.confirmEmail(u.id, LATER), true);
      assert.equal(await users.confirmEmail(u.id, new Date(LATER.getTime() + 1000)), false);
      assert.deepEqual((await users.findById(u.id))!.emailConfirmedAt, LATER);
    });

    test("changeEmail moves the account to a free address, confirmed and stamped; a taken one changes nothing", async () => {
      const users = await open();
      const u = (await users.create(newUser({ email: "before@example.com", emailConfirmedAt: null }), NOW))!;
      const other = (await users.create(newUser({ email: "in-use@example.com" }), NOW))!;
      assert.equal(await users.changeEmail(u.id, "in-use@example.com", LATER), false);
      assert.equal((await users.findById(u.id))!.email, "before@example.com");
      assert.equal((await users.findByEmail("in-use@example.com"))!.id, other.id);

      assert.equal(await users.changeEmail(u.id, "after@example.com", LATER), true);
      const moved = (await users.findByEmail("after@example.com"))!;
      assert.equal(moved.id, u.id);
      assert.deepEqual(moved.emailConfirmedAt, LATER, "the link to the new address proved it");
      assert.deepEqual(moved.emailChangedAt, LATER);
      assert.equal(await users.findByEmail("before@example.com"), null);
      // An address confirmed before keeps its first confirmation time.
      const later = new Date(LATER.getTime() + 60_000);
      assert.equal(await users.changeEmail(u.id, "again@example.com", later), true);
      assert.deepEqual((await users.findById(u.id))!.emailConfirmedAt, LATER);
      assert.deepEqual((await users.findById(u.id))!.emailChangedAt, later);
    });

    test("markDeleted erases personal data and frees the email", async () => {
      const users = await open();
      const u = (await users.create(newUser({ email: "gone@example.com", firstName: "Gone" }), NOW))!;
      await users.markDeleted(u.id, LATER);
      assert.equal(await users.findByEmail("gone@example.com"), null);
      const back = (await users.findById(u.id))!;
      assert.deepEqual(back.deletedAt, LATER);
      assert.equal(back.firstName, null);
      assert.notEqual(back.passwordHash, u.passwordHash);
      assert.ok(await users.create(newUser({ email: "gone@example.com" }), LATER), "the email can be registered again");
    });
  });
}
