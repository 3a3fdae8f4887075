import { HearthError } from "../core/errors.ts";

/** Codes of the storage layer's errors. */
export type StorageErrorCode =
  /** A store was used before its owner called open(). */
  "STORAGE_NOT_OPEN";

/** An error of the storage layer. */
export class StorageError extends HearthError<StorageErrorCode> {
  override readonly name = "StorageError";
}

/** Narrows a thrown value to a StorageError. */
export function isStorageError(err: unknown, code?: StorageErrorCode): err is StorageError {
  return err instanceof StorageError && (code === undefined || err.code === code);
}
