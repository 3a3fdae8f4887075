/**
 * The console's page at `/`: the overview, then each device with its entities' states and the controls of
 * the writable ones, rendered whole on the server (every device-provided string through escapeHtml) so it
 * reads without script; /console.js then keeps it live over the WebSocket and sends the controls' forms.
 * Each live cell is named by `data-t` (its key in the snapshot's `text`), each device by `data-device`.
 */
import { type DeviceSnapshot, type EntitySnapshot, OVERVIEW_ROWS, type OverviewSnapshot, WRITABLE_KINDS } from "./console-state.ts";
import { csrfField, escapeHtml, page } from "./pages.ts";

export interface ConsolePageOptions {
  overview: OverviewSnapshot;
  devices: DeviceSnapshot[];
  csrf: string;
  user: string | undefined;
}

/** The controls' forms: one field set per entity kind. */
function controls(device: string, entity: EntitySnapshot, csrf: string): string {
  const form = (inner: string) =>
    `<form method="post" action="/command" data-command>${csrfField(csrf)}<input type="hidden" name="device" value="${escapeHtml(device)}"><input type="hidden" name="entity" value="${escapeHtml(entity.key)}">${inner}</form>`;
  const choice = (value: string, label = value) => `<button name="value" value="${value}">${label}</button>`;
  switch (entity.kind) {
    case "switch":
      return form(choice("ON", "On") + choice("OFF", "Off") + choice("TOGGLE", "Toggle"));
    case "light":
      return form(choice("ON", "On") + choice("OFF", "Off")) + form(`<label>Brightness <input type="range" name="brightness" min="1" max="255" value="255"></label><button>Set</button>`);
    case "number": {
      const r = entity.range!;
      return form(`<input type="number" name="value" min="${r.min}" max="${r.max}" step="${r.step}" required aria-label="${escapeHtml(entity.name)}"><button>Set</button>`);
    }
    case "button":
      return form(choice("PRESS", "Press"));
    default:
      return "";
  }
}

function deviceSection(device: DeviceSnapshot, csrf: string): string {
  const cell = (name: string) => `<span data-t="${escapeHtml(name)}">${escapeHtml(device.text[name] ?? "")}</span>`;
  const rows = device.entities
    .map((e) => {
      const forms = WRITABLE_KINDS.has(e.kind) ? controls(device.id, e, csrf) : "";
      // A state without controls takes their column too: on a phone a reading and its unit need more than the value's column alone.
      const value = forms === "" ? `<td colspan="2">${cell(`entity:${e.key}`)}</td>` : `<td>${cell(`entity:${e.key}`)}</td><td>${forms}</td>`;
      return `<tr data-entity="${escapeHtml(e.key)}"><th>${escapeHtml(e.name)}</th>${value}</tr>`;
    })
    .join("\n");
  return `<article class="device" data-device="${escapeHtml(device.id)}" data-available="${device.available}">
<h3>${escapeHtml(device.name)} <small>${escapeHtml(device.model)}</small></h3>
<p class="status">${cell("availability")}<br>Last change ${cell("lastChange")}<br>${cell("counts")}</p>
<p class="outcome" data-outcome role="status"></p>
<table><colgroup><col class="name"><col><col class="controls"></colgroup>
${rows}
</table>
${device.updatable ? firmwareForm(device, csrf) : ""}
</article>`;
}

/** A device's firmware update (POST /firmware, firmware-routes.ts): an Intel HEX file, and the version it must then say. */
function firmwareForm(device: DeviceSnapshot, csrf: string): string {
  return `<details class="firmware"><summary>Firmware${device.swVersion === undefined ? "" : ` ${escapeHtml(device.swVersion)}`}: update</summary>
<form method="post" action="/firmware" enctype="multipart/form-data">${csrfField(csrf)}<input type="hidden" name="device" value="${escapeHtml(device.id)}">
<label>Image (Intel HEX) <input type="file" name="image" accept=".hex" required></label>
<label>Version it must say (optional) <input type="text" name="version" maxlength="64"></label>
<button type="submit">Write it</button></form>
<p>The device is offline while it is written (a minute or two); one that does not say hello afterwards gets its previous firmware back.</p></details>`;
}

/** The whole console page. */
export function consolePage(options: ConsolePageOptions): string {
  const { overview, devices, csrf, user } = options;
  const signOut = user === undefined ? "" : `<form method="post" action="/logout">${csrfField(csrf)}<button type="submit">Sign out ${escapeHtml(user)}</button></form>`;
  const figures = OVERVIEW_ROWS.map(([name, label]) => `<dt>${label}</dt><dd data-t="${name}">${escapeHtml(overview.text[name] ?? "")}</dd>`).join("");
  return page(
    `hearth ${overview.node}`,
    `<header><h1>hearth ${escapeHtml(overview.node)}</h1><nav><a href="/log">Log</a> <a href="/config">Configuration</a></nav><span id="live" data-live="off">not live</span>${signOut}</header>
<section id="overview"><h2>Overview</h2><dl>${figures}</dl>
<p>Its figures for Prometheus: <a href="/metrics">/metrics</a>.</p></section>
<section id="devices"><h2>Devices</h2>
${devices.length === 0 ? "<p>No devices are configured.</p>" : devices.map((d) => deviceSection(d, csrf)).join("\n")}
</section>
<script src="/console.js"></script>`,
  );
}
