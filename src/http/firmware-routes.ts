/**
 * The console's firmware update: POST /firmware takes a device's new image uploaded from its card on the
 * console page and hands it to `DeviceViews.updateFirmware`, the path `hearth firmware` and the MQTT
 * `device/firmware` request take (engine/firmware/update.ts). The answer is a page of the update's steps,
 * once it is over; a refusal (a damaged image, a device that cannot be updated) says why, nothing touched.
 */
import type { Logger } from "../core/logger.ts";
import type { FirmwareUpdateResult } from "../engine/device-view.ts";
import type { ConsoleSources } from "./console-state.ts";
import { escapeHtml, page } from "./pages.ts";
import { html, MAX_UPLOAD_BYTES, type Route } from "./server.ts";

const OUTCOME: Record<FirmwareUpdateResult["status"], string> = {
  updated: "Updated",
  rolled_back: "Not updated: the previous firmware was written back and runs",
  failed: "Not updated, and the previous firmware is not known to run: the device needs a look",
};

function resultPage(device: string, result: FirmwareUpdateResult | undefined, error: string | undefined): string {
  const steps = (result?.steps ?? [])
    .map((s) => `<tr><th>${escapeHtml(s.step)}</th><td>${s.ok ? "ok" : "FAILED"}</td><td>${escapeHtml(s.detail)}</td><td>${(s.ms / 1000).toFixed(1)} s</td></tr>`)
    .join("\n");
  const versions = result === undefined ? "" : `<p>Version before: ${escapeHtml(result.version_before ?? "unknown")}; after: ${escapeHtml(result.version_after ?? "unknown")}</p>`;
  return page(
    `Firmware of ${device}`,
    `<header><h1>Firmware of ${escapeHtml(device)}</h1></header>
<p class="${result?.status === "updated" ? "ok" : "error"}" data-firmware-outcome>${escapeHtml(result === undefined ? `Refused: ${error ?? ""}` : OUTCOME[result.status])}</p>
${error !== undefined && result !== undefined ? `<p class="error">${escapeHtml(error)}</p>` : ""}${versions}
${steps === "" ? "" : `<table>\n${steps}\n</table>`}
<p><a href="/">Back to the console</a></p>`,
  );
}

export function firmwareRoutes(sources: ConsoleSources, log: Logger): Route[] {
  return [
    {
      method: "POST",
      path: "/firmware",
      access: "page",
      maxBodyBytes: MAX_UPLOAD_BYTES,
      handle: async ({ form, files }) => {
        const id = form?.get("device") ?? "";
        if (sources.devices.get(id) === undefined) return html(404, resultPage(id, undefined, "no such device"));
        const image = files.get("image");
        if (image === undefined || image.size === 0) return html(400, resultPage(id, undefined, "choose an Intel HEX file to write"));
        const expectVersion = form?.get("version")?.trim() || undefined;
        log.info({ device: id, bytes: image.size }, `Firmware update of ${id} asked for from the console`);
        try {
          const result = await sources.devices.updateFirmware(id, await image.text(), { expectVersion });
          return html(result.status === "updated" ? 200 : 422, resultPage(id, result, result.error));
        } catch (err) {
          return html(422, resultPage(id, undefined, (err as Error).message));
        }
      },
    },
  ];
}
