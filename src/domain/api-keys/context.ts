import type { DomainDeps } from "../context.js";
import type { RateRule } from "../security/rate-limits.js";
import type { ApiKeyStore, ScopeDefinition } from "./ports.js";

/** The narrow deps of the API-key module. */
export type ApiKeyDeps = Pick<DomainDeps, "clock" | "random" | "events" | "users" | "limiter" | "recent"> & {
  apiKeys: ApiKeyStore;
  /** The catalogue from API_KEY_SCOPES_FILE (empty when unset: no key can be created). */
  apiKeyScopes: readonly ScopeDefinition[];
  config: { API_KEY_RATE_LIMIT: RateRule };
};
