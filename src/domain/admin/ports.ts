import type { UserRecord } from "../accounts/ports.js";
import type { EventCursor, SecurityEventRecord } from "../security/ports.js";

/** Who an account is to an operator. `active`: usable (confirmed, not deactivated); `deleted` accounts are only listed when asked for. */
export type UserStatus = "active" | "inactive" | "unconfirmed" | "deleted";

export interface UserQuery {
  /** Lower-cased; matched as a prefix of the email. */
  emailPrefix?: string;
  status?: UserStatus;
  /** Users whose email sorts strictly after this one (the cursor). */
  afterEmail?: string;
  limit: number;
}

/** Finding users for the admin API and CLI; ordered by email. */
export interface UserDirectory {
  search(query: UserQuery): Promise<UserRecord[]>;
}

export interface EventQuery {
  userId?: string;
  type?: string;
  since?: Date;
  before?: EventCursor;
  limit: number;
}

/** Security events across users, newest first (ties by id), for audits. */
export interface SecurityEventSearch {
  search(query: EventQuery): Promise<SecurityEventRecord[]>;
}
