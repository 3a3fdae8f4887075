/** What makes up one PUBLISH packet, for its size. */
export interface PublishShape {
  topic: string;
  payload: string | Buffer;
  qos: 0 | 1;
  protocolVersion: 4 | 5;
  /** MQTT 5 user properties sent with it. */
  userProperties?: Record<string, string>;
}

/**
 * The size in bytes of a PUBLISH packet as it goes on the wire (fixed header included), the figure a
 * broker's Maximum Packet Size (MQTT 5 CONNACK) and Mosquitto's `max_packet_size` are compared with.
 */
export function publishPacketSize(p: PublishShape): number {
  let remaining = 2 + Buffer.byteLength(p.topic) + (p.qos > 0 ? 2 : 0) + Buffer.byteLength(p.payload);
  if (p.protocolVersion === 5) {
    let properties = 0;
    for (const [key, value] of Object.entries(p.userProperties ?? {})) properties += 1 + 2 + Buffer.byteLength(key) + 2 + Buffer.byteLength(value);
    remaining += varIntLength(properties) + properties;
  }
  return 1 + varIntLength(remaining) + remaining;
}

/** Bytes of MQTT's variable byte integer for `n`. */
function varIntLength(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}
