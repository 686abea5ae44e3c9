/**
 * `npm start` runs `node --require ./dist/preload.cjs dist/main.js`: this file runs first, while
 * libuv's thread pool does not exist yet, and sizes it to the password hashes this process runs
 * at once (thread-pool.cts, threadPoolSizeFor). It has to be a CommonJS preload: Node reads an
 * ES module entry such as main.js through the pool, so by the time main.js runs, the pool has
 * its default four threads. Cluster workers inherit the variable and the flag.
 */
import { threadPoolSizeFor } from "./thread-pool.cjs";

const size = threadPoolSizeFor(process.env);
if (size !== null) process.env.UV_THREADPOOL_SIZE = String(size);
