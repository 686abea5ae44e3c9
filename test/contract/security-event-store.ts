/** SecurityEventStore contract: what is recorded, and the newest-first cursor pages of one user. */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { SecurityEventStore } from "../../src/domain/security/ports.js";
import { atSeconds as at, lazily, type OwnedStoreHarness } from "./harness.js";

export function securityEventStoreContract(
  name: string,
  make: () => Promise<OwnedStoreHarness<SecurityEventStore>>,
  options: { skip?: string } = {},
) {
  describe(name, { skip: options.skip }, () => {
    const harness = lazily(make);
    after(harness.close);

    test("record keeps every field; listForUser returns only that user's events", async () => {
      const h = await harness.open();
      const [userId, otherId] = [await h.newUserId(), await h.newUserId()];
      await h.store.record(
        { userId, type: "login_succeeded", ip: "192.0.2.9", userAgent: "ua/1", detail: { method: "password" } },
        at(5),
      );
      await h.store.record({ userId: otherId, type: "login_failed", ip: null, userAgent: null }, at(6));
      const [event, ...rest] = await h.store.listForUser(userId, 10);
      assert.equal(rest.length, 0);
      assert.equal(event!.userId, userId);
      assert.equal(event!.type, "login_succeeded");
      assert.equal(event!.ip, "192.0.2.9");
      assert.equal(event!.userAgent, "ua/1");
      assert.deepEqual(event!.detail, { method: "password" });
      assert.deepEqual(event!.createdAt, at(5));
      assert.equal(typeof event!.id, "string");
    });

    test("newest first, ties broken by id, cursor pages without gaps or repeats", async () => {
      const h = await harness.open();
      const userId = await h.newUserId();
      for (let i = 0; i < 7; i++) {
        // Pairs share a timestamp, so the tie-break is exercised.
        await h.store.record({ userId, type: `e${i}`, ip: "192.0.2.1", userAgent: "ua" }, at(Math.floor(i / 2)));
      }
      await h.store.record({ userId: null, type: "someone-else", ip: null, userAgent: null }, at(100));
      const all = await h.store.listForUser(userId, 100);
      assert.equal(all.length, 7);
      for (let i = 1; i < all.length; i++) {
        const [a, b] = [all[i - 1]!, all[i]!];
        assert.ok(a.createdAt > b.createdAt || (a.createdAt.getTime() === b.createdAt.getTime() && a.id > b.id));
      }
      assert.equal((await h.store.listForUser(userId, 3)).length, 3, "the limit holds");
      const seen: string[] = [];
      let before: { createdAt: Date; id: string } | undefined;
      for (;;) {
        const page = await h.store.listForUser(userId, 3, before);
        if (page.length === 0) break;
        seen.push(...page.map((e) => e.id));
        before = page.at(-1);
      }
      assert.deepEqual(
        seen,
        all.map((e) => e.id),
      );
    });
  });
}
