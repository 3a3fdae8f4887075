import type { Config } from "../config/schema.ts";
import { isHearthError } from "../core/errors.ts";
import { type FirmwareFile, readFirmwareFile } from "../engine/firmware/image-file.ts";
import type { FirmwareStep, FirmwareUpdateResult } from "../engine/firmware/update.ts";
import { FIRMWARE_REQUEST_LIMIT } from "../mqtt/payloads.ts";
import { bridgeRequest, NoAnswerError } from "./bridge-request.ts";
import type { Output } from "./output.ts";

/** Exit codes of `hearth firmware`: 0 updated, 1 not (refused by hearth, rolled back, failed), 2 a bad file or usage, 3 no answer. */
export const FIRMWARE_EXIT = { updated: 0, notUpdated: 1, badInput: 2, noAnswer: 3 } as const;

/** How long a write, its verification and a rollback may take before the command stops waiting. */
const DEFAULT_TIMEOUT_S = 900;

/**
 * `hearth firmware DEVICE FILE.hex`: asks the running hearth over MQTT (`bridge/request/device/firmware`)
 * to write an image to one of its devices, and prints each step of the update as hearth reports it.
 * The image goes in the request, so hearth needs no access to the file.
 */
export async function firmwareCommand(
  config: Config,
  device: string | undefined,
  file: string | undefined,
  output: Output,
  options: { version?: string; json?: boolean; timeoutS?: number } = {},
): Promise<number> {
  if (device === undefined || file === undefined) {
    output.err("hearth firmware: usage: hearth firmware DEVICE FILE.hex [--expect-version V] [--config FILE] [--json]\n");
    return FIRMWARE_EXIT.badInput;
  }
  let read: FirmwareFile;
  try {
    // The whole file is checked here first, so a damaged one is refused before hearth is even asked.
    read = await readFirmwareFile(file, FIRMWARE_REQUEST_LIMIT);
  } catch (err) {
    if (!isHearthError(err, "DEVICE_FIRMWARE_FILE_REFUSED")) throw err;
    output.err(`hearth firmware: ${file}: ${err.message}\n`);
    return FIRMWARE_EXIT.badInput;
  }
  output.err(`hearth firmware: writing ${file} (${read.image.size} bytes) to ${device}; this takes a minute or two\n`);
  let reply;
  try {
    const body = { id: device, hex: read.hex, ...(options.version === undefined ? {} : { version: options.version }) };
    reply = await bridgeRequest(config, "device/firmware", body, { timeoutMs: (options.timeoutS ?? DEFAULT_TIMEOUT_S) * 1000 });
  } catch (err) {
    if (!(err instanceof NoAnswerError)) throw err;
    output.err(`hearth firmware: ${err.message}\n`);
    return FIRMWARE_EXIT.noAnswer;
  }
  const result = reply.data as Partial<FirmwareUpdateResult> | undefined;
  if (options.json) output.out(`${JSON.stringify({ status: reply.status, ...(reply.error === undefined ? {} : { error: reply.error }), data: reply.data }, null, 2)}\n`);
  else {
    for (const step of result?.steps ?? []) output.out(`${describeStep(step)}\n`);
    if (reply.status === "ok") output.out(`${device}: firmware updated, ${result?.version_before ?? "?"} → ${result?.version_after ?? "?"}\n`);
    else output.out(`${device}: NOT UPDATED: ${String(reply.error)}\n`);
  }
  return reply.status === "ok" ? FIRMWARE_EXIT.updated : FIRMWARE_EXIT.notUpdated;
}

function describeStep(step: FirmwareStep): string {
  const seconds = step.ms >= 1000 ? ` (${(step.ms / 1000).toFixed(1)} s)` : "";
  return `  ${step.ok ? "ok    " : "FAILED"} ${step.step.padEnd(15)} ${step.detail}${seconds}`;
}
