import { lazy } from "../../lib/lazy.js";

/** @simplewebauthn/server, loaded by the first passkey ceremony (about 1 s and 25 MB at start otherwise). */
export const webauthn = lazy(() => import("@simplewebauthn/server"));
