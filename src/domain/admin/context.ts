import type { ApiKeyDeps } from "../api-keys/context.js";
import type { DomainDeps } from "../context.js";
import type { SecurityEventSearch, UserDirectory } from "./ports.js";

export type AdminDeps = DomainDeps &
  Pick<ApiKeyDeps, "apiKeys"> & {
    userDirectory: UserDirectory;
    eventSearch: SecurityEventSearch;
  };

/** Who did it, recorded with every admin action: a user of the admin API, or the CLI on the server. */
export interface Actor {
  id: string | null;
  email: string | null;
  ip: string | null;
  userAgent: string | null;
}
