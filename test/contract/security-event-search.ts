/** SecurityEventSearch contract: events across users, newest first, filtered by user, type and time, paged by cursor. */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { SecurityEventSearch } from "../../src/domain/admin/ports.js";
import type { SecurityEventStore } from "../../src/domain/security/ports.js";
import { atSeconds as at, lazily, type OwnedStoreHarness } from "./harness.js";

export interface SecurityEventSearchHarness extends OwnedStoreHarness<SecurityEventSearch> {
  /** Where the events the search finds are recorded. */
  events: SecurityEventStore;
}

export function securityEventSearchContract(
  name: string,
  make: () => Promise<SecurityEventSearchHarness>,
  options: { skip?: string } = {},
) {
  describe(name, { skip: options.skip }, () => {
    const harness = lazily(make);
    after(harness.close);

    test("across users, newest first; filters combine; cursor pages without gaps or repeats", async () => {
      const h = await harness.open();
      const [ann, bob] = [await h.newUserId(), await h.newUserId()];
      const record = (userId: string | null, type: string, seconds: number) =>
        h.events.record({ userId, type, ip: null, userAgent: "ua" }, at(seconds));
      await record(ann, "s_login", 1);
      await record(bob, "s_login", 2);
      await record(null, "s_admin", 2);
      await record(ann, "s_logout", 3);
      await record(bob, "s_login", 4);

      const mine = (events: Awaited<ReturnType<SecurityEventSearch["search"]>>) =>
        events.filter((e) => e.type.startsWith("s_")).map((e) => [e.userId, e.type, e.createdAt.getTime()]);
      const all = await h.store.search({ limit: 1000 });
      assert.deepEqual(
        mine(all).map((row) => row[2]),
        [4, 3, 2, 2, 1].map((s) => at(s).getTime()),
      );
      assert.deepEqual(mine(await h.store.search({ userId: ann, limit: 10 })), [
        [ann, "s_logout", at(3).getTime()],
        [ann, "s_login", at(1).getTime()],
      ]);
      assert.deepEqual(mine(await h.store.search({ userId: bob, type: "s_login", since: at(3), limit: 10 })), [
        [bob, "s_login", at(4).getTime()],
      ]);
      assert.deepEqual(mine(await h.store.search({ type: "s_admin", limit: 10 })), [
        [null, "s_admin", at(2).getTime()],
      ]);

      const ours = all.filter((e) => e.type.startsWith("s_"));
      const seen: string[] = [];
      let before: { createdAt: Date; id: string } | undefined;
      for (;;) {
        const page = (await h.store.search({ since: at(1), before, limit: 2 })).filter((e) => e.type.startsWith("s_"));
        if (page.length === 0) break;
        seen.push(...page.map((e) => e.id));
        before = page.at(-1)!;
      }
      assert.deepEqual(
        seen,
        ours.map((e) => e.id),
      );
    });
  });
}
