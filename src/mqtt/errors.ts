import { HearthError } from "../core/errors.ts";

/** Codes of the MQTT bridge's errors. */
export type MqttErrorCode =
  | "MQTT_BAD_PAYLOAD"
  | "MQTT_PAYLOAD_TOO_LARGE"
  | "MQTT_UNKNOWN_DEVICE"
  | "MQTT_UNKNOWN_REQUEST"
  | "MQTT_TLS_FILE"
  | "MQTT_BROKER_PORT_TAKEN"
  | "MQTT_BAD_EMBEDDED_PORT"
  | "MQTT_NO_BROKER"
  | "MQTT_NOT_CONNECTED"
  | "MQTT_ACK_LOST"
  | "MQTT_PUBLISH_REFUSED"
  | "MQTT_PACKET_TOO_LARGE"
  | "MQTT_REQUEST_FAILED";

/** An error of the MQTT bridge. */
export class MqttError extends HearthError<MqttErrorCode> {
  override readonly name = "MqttError";
}

/** Narrows a thrown value to an MqttError. */
export function isMqttError(err: unknown, code?: MqttErrorCode): err is MqttError {
  return err instanceof MqttError && (code === undefined || err.code === code);
}
