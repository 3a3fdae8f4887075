/**
 * A broker URL as MQTT.js connection options, read with the WHATWG URL parser. Handing MQTT.js the
 * URL string makes it call the deprecated `url.parse()`, whose DEP0169 warning a compiled binary
 * prints on stderr (Bun stays quiet only for calls it can see come from node_modules).
 */
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";

/** The protocol, host, port, credentials and path of `url`, as MQTT.js would read them from the string. */
export function brokerOptions(url: string): IClientOptions {
  const parsed = new URL(url);
  const options: IClientOptions = {
    protocol: parsed.protocol.replace(/:$/, "") as IClientOptions["protocol"],
    // WHATWG keeps an IPv6 literal in brackets; sockets want it bare.
    host: parsed.hostname.replace(/^\[(.*)\]$/, "$1"),
  };
  const path = `${parsed.pathname}${parsed.search}`;
  if (path !== "") options.path = path; // kept for ws(s) only, as MQTT.js does
  if (parsed.port !== "") options.port = Number(parsed.port);
  if (parsed.username !== "") options.username = decodeURIComponent(parsed.username);
  if (parsed.password !== "") options.password = decodeURIComponent(parsed.password);
  return options;
}

/** MQTT.js's connect, handed the URL's parts instead of the string. */
export function connectByOptions(url: string, options: IClientOptions): MqttClient {
  return mqtt.connect({ ...brokerOptions(url), ...options });
}
