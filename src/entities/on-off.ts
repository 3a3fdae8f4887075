/** What an on/off entity (switch, binary_sensor, light) shows on MQTT, and the payloads Home Assistant's discovery is told to send and expect. */
export const ON = "ON";
export const OFF = "OFF";
/** What a button takes (and discovery tells Home Assistant to send). */
export const PRESS = "PRESS";

/** ON or OFF, as published. */
export type OnOff = typeof ON | typeof OFF;

/** An on/off entity's state in the state machine (Home Assistant's words, lower case). */
export const STATE_ON = "on";
export const STATE_OFF = "off";

/** The published word for on or off. */
export function onOff(on: boolean): OnOff {
  return on ? ON : OFF;
}

/** The state machine's word for on or off. */
export function stateOnOff(on: boolean): typeof STATE_ON | typeof STATE_OFF {
  return on ? STATE_ON : STATE_OFF;
}

/** Whether a lower-case word a device or a user sent means on (`on`, `true`, `1`) or off (`off`, `false`, `0`); undefined for anything else. */
export function parseOnOff(word: string): boolean | undefined {
  if (word === "on" || word === "true" || word === "1") return true;
  if (word === "off" || word === "false" || word === "0") return false;
  return undefined;
}
