import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The folder this file is in: src/ under tsx, dist/ once built. It stays true when the build
 * bundles the server into dist/main.js (scripts/build.mjs), where a module's own
 * `import.meta.url` would name dist/main.js instead of its file; so files that read files beside
 * the code (page templates, package.json) locate them from here.
 */
export const CODE_ROOT = path.dirname(fileURLToPath(import.meta.url));

/** The project folder, where package.json and sdk/ are. */
export const PROJECT_ROOT = path.dirname(CODE_ROOT);
