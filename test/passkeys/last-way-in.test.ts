/**
 * A passkey is never the last way in to go: an account without a password and without a linked
 * identity keeps its only passkey, whatever races (as unlinking the last identity is refused).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { engines } from "../helpers/engines.js";
import { withBearer, type Warden } from "../helpers/warden.js";
import { googleSignIn, newSubject, startFederation } from "../federation/fixtures.js";
import { authenticator, registerPasskey } from "./passkey-helpers.js";

const LAST_WAY_IN = { code: 409, message: "This is your only way to sign in." };

const del = (w: Warden, token: string, url: string) => withBearer(w, token, { method: "DELETE", url });
const passkeysOf = async (w: Warden, token: string) =>
  (await withBearer(w, token, { method: "GET", url: "/api/v1/me/passkeys" })).body as Array<{ id: string }>;

for (const { engine, skip } of engines) {
  test(`never the last passkey of an account with no other way in, on ${engine.name}`, { skip }, async (t) => {
    const world = await startFederation(engine);
    const { w, google } = world;
    /** A new account made through Google (no password), holding `count` passkeys, and its Google identity's id. */
    const googleAccountWithPasskeys = async (count: number) => {
      const email = `pk.${newSubject()}@gmail.com`;
      const signedIn = await googleSignIn(w, {
        credential: await google.mint({ sub: newSubject(), email, email_verified: true }),
      });
      assert.equal(signedIn.status, 200, signedIn.raw);
      const token = signedIn.body.token as string;
      const passkeys = [];
      for (let i = 0; i < count; i++) passkeys.push(await registerPasskey(w, token, authenticator(), `Key ${i}`));
      const identities = await withBearer(w, token, { method: "GET", url: "/api/v1/me/identities" });
      return { token, passkeys, identityId: identities.body.data[0].id as string };
    };

    try {
      await t.test(
        "a passkey-only account keeps its last passkey (409); with another one left, one may go",
        async () => {
          const { token, passkeys, identityId } = await googleAccountWithPasskeys(2);
          assert.equal((await del(w, token, `/api/v1/me/identities/${identityId}`)).status, 204, "the passkeys remain");
          const first = await del(w, token, `/api/v1/me/passkeys/${passkeys[0]!.id}`);
          assert.equal(first.status, 204, first.raw);
          const last = await del(w, token, `/api/v1/me/passkeys/${passkeys[1]!.id}`);
          assert.deepEqual([last.status, last.body], [409, LAST_WAY_IN]);
          assert.deepEqual(
            (await passkeysOf(w, token)).map((p) => p.id),
            [passkeys[1]!.id],
          );
          // Another user's passkey is still 404 first: the refusal tells nothing about it.
          const stranger = await googleAccountWithPasskeys(0);
          const foreign = await del(w, stranger.token, `/api/v1/me/passkeys/${passkeys[1]!.id}`);
          assert.equal(foreign.status, 404, foreign.raw);
        },
      );

      await t.test("a linked identity is a way in: the last passkey may go while it stays", async () => {
        const { token, passkeys } = await googleAccountWithPasskeys(1);
        assert.equal((await del(w, token, `/api/v1/me/passkeys/${passkeys[0]!.id}`)).status, 204);
      });

      await t.test("two removals at once of a user's last two ways in: exactly one goes", async () => {
        const twoPasskeys = await googleAccountWithPasskeys(2);
        assert.equal((await del(w, twoPasskeys.token, `/api/v1/me/identities/${twoPasskeys.identityId}`)).status, 204);
        const both = await Promise.all(
          twoPasskeys.passkeys.map((p) => del(w, twoPasskeys.token, `/api/v1/me/passkeys/${p.id}`)),
        );
        assert.deepEqual(both.map((r) => r.status).sort(), [204, 409]);
        assert.equal((await passkeysOf(w, twoPasskeys.token)).length, 1);

        // A passkey deletion and an unlink: each would leave the other, but not both at once.
        const mixed = await googleAccountWithPasskeys(1);
        const [passkey, unlink] = await Promise.all([
          del(w, mixed.token, `/api/v1/me/passkeys/${mixed.passkeys[0]!.id}`),
          del(w, mixed.token, `/api/v1/me/identities/${mixed.identityId}`),
        ]);
        assert.deepEqual([passkey.status, unlink.status].sort(), [204, 409], passkey.raw + unlink.raw);
        const left = (await passkeysOf(w, mixed.token)).length;
        const identities = await withBearer(w, mixed.token, { method: "GET", url: "/api/v1/me/identities" });
        assert.equal(left + identities.body.data.length, 1, "one way in is left");
      });
    } finally {
      await world.close();
    }
  });
}
