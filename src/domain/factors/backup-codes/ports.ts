/** What backup codes need from storage. Implementation: src/storage/backup-codes.ts. */

export interface BackupCodeStore {
  /** Unused backup codes of the user. */
  countUnused(userId: string): Promise<number>;
  /** Deletes every code of the user and stores these keyed hashes instead, in one transaction. */
  replaceAll(userId: string, codeHashes: string[], now: Date): Promise<void>;
  /** Marks the code used if it is the user's and unused; of two concurrent callers exactly one wins. */
  consume(userId: string, codeHash: string, now: Date): Promise<boolean>;
  deleteAll(userId: string): Promise<void>;
}
