import { HearthError } from "../../src/core/errors.ts";

/** Why deploying to a host (or reading the command line) failed. */
export type DeployErrorCode =
  | "USAGE"
  | "FLEET_INVALID"
  | "RELEASE_MISSING"
  | "SSH_UNREACHABLE"
  | "SSH_HOST_KEY"
  | "SSH_AUTH"
  | "REMOTE_FAILED"
  | "UNSUPPORTED_ARCH"
  | "CHECKSUM_MISMATCH"
  | "CONFIG_INVALID"
  | "RELEASE_IN_USE"
  | "BOARD_LOCKED"
  | "INTERRUPTED"
  | "HEALTH_FAILED"
  /** hearth on the board answers as another node than the fleet file names it. */
  | "NODE_MISMATCH"
  | "ROLLBACK_FAILED"
  /** A firmware image carried with the release was not written to its device (the release itself runs, healthy). */
  | "FIRMWARE_FAILED";

/** An error of deploy/deploy, with a message meant for the person running it. */
export class DeployError extends HearthError<DeployErrorCode> {
  override readonly name = "DeployError";
}

/** Narrows an unknown thrown value to a DeployError, optionally of one code. */
export function isDeployError<Code extends DeployErrorCode>(err: unknown, code?: Code): err is DeployError & { code: Code } {
  return err instanceof DeployError && (code === undefined || err.code === code);
}
