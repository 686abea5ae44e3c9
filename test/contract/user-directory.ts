/** UserDirectory contract: users by email prefix (wildcards literal) and status, in email order, paged after an email. */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { UserDirectory } from "../../src/domain/admin/ports.js";
import type { UserStore } from "../../src/domain/accounts/ports.js";
import { atSeconds as at, lazily, T0, type StoreHarness } from "./harness.js";

export interface UserDirectoryHarness extends StoreHarness<UserDirectory> {
  /** Where the users the directory finds are made. */
  users: UserStore;
}

export function userDirectoryContract(
  name: string,
  make: () => Promise<UserDirectoryHarness>,
  options: { skip?: string } = {},
) {
  describe(name, { skip: options.skip }, () => {
    const harness = lazily(make);
    after(harness.close);

    test("prefix, status, order by email, limit and the page after an email", async () => {
      const h = await harness.open();
      // Each test of a suite shares the database: a prefix of its own keeps its users apart.
      const make = async (
        local: string,
        state: { confirmed?: boolean; inactive?: boolean; deleted?: boolean } = {},
      ) => {
        const user = await h.users.create(
          {
            email: `${local}@dir.example.com`,
            passwordHash: "x",
            roles: ["ROLE_USER"],
            emailConfirmedAt: state.confirmed === false ? null : T0,
            deactivatedAt: state.inactive ? T0 : null,
          },
          T0,
        );
        if (state.deleted) await h.users.markDeleted(user!.id, at(1));
        return user!;
      };
      await make("d1-carol");
      await make("d1-alice");
      await make("d1-bob", { inactive: true });
      await make("d1-ann", { confirmed: false });
      const gone = await make("d1-dave", { deleted: true });
      await make("d1x_other");
      const emails = async (query: Parameters<UserDirectory["search"]>[0]) =>
        (await h.store.search(query)).map((u) => u.email);

      assert.deepEqual(await emails({ emailPrefix: "d1-", limit: 10 }), [
        "d1-alice@dir.example.com",
        "d1-ann@dir.example.com",
        "d1-bob@dir.example.com",
        "d1-carol@dir.example.com",
      ]);
      assert.deepEqual(await emails({ emailPrefix: "d1-", status: "active", limit: 10 }), [
        "d1-alice@dir.example.com",
        "d1-carol@dir.example.com",
      ]);
      assert.deepEqual(await emails({ emailPrefix: "d1-", status: "inactive", limit: 10 }), ["d1-bob@dir.example.com"]);
      assert.deepEqual(await emails({ emailPrefix: "d1-", status: "unconfirmed", limit: 10 }), [
        "d1-ann@dir.example.com",
      ]);
      const deleted = await h.store.search({ status: "deleted", limit: 100 });
      assert.ok(
        deleted.some((u) => u.id === gone.id),
        "deleted users only when asked for",
      );
      assert.ok(deleted.every((u) => u.deletedAt !== null));

      assert.deepEqual(await emails({ emailPrefix: "d1-", limit: 2 }), [
        "d1-alice@dir.example.com",
        "d1-ann@dir.example.com",
      ]);
      assert.deepEqual(await emails({ emailPrefix: "d1-", afterEmail: "d1-ann@dir.example.com", limit: 2 }), [
        "d1-bob@dir.example.com",
        "d1-carol@dir.example.com",
      ]);
      assert.deepEqual(await emails({ emailPrefix: "d1_", limit: 10 }), [], "_ is a literal underscore");
      assert.deepEqual(await emails({ emailPrefix: "d1x_", limit: 10 }), ["d1x_other@dir.example.com"]);
      assert.deepEqual(await emails({ emailPrefix: "d1%", limit: 10 }), [], "% is a literal percent sign");
    });
  });
}
