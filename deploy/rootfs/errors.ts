import { HearthError } from "../../src/core/errors.ts";

/** Why deploy/flash refused a card or stopped. */
export type FlashErrorCode =
  | "USAGE"
  | "NOT_A_ROOTFS"
  | "UNSUPPORTED_ARCH"
  | "ARCH_MISMATCH"
  | "BINARY_MISSING"
  | "CHECKSUM_MISMATCH"
  | "CONFIG_INVALID"
  | "SECRETS"
  | "NOT_A_PI_BOOT"
  | "NOT_ROOT"
  | "TREE_ESCAPE"
  | "ACCOUNTS"
  | "INSTALL_FAILED";

/** An error of deploy/flash, with a message meant for the person preparing the card. */
export class FlashError extends HearthError<FlashErrorCode> {
  override readonly name = "FlashError";
}

/** Narrows an unknown thrown value to a FlashError, optionally of one code. */
export function isFlashError<Code extends FlashErrorCode>(err: unknown, code?: Code): err is FlashError & { code: Code } {
  return err instanceof FlashError && (code === undefined || err.code === code);
}
