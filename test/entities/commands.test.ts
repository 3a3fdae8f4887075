import { expect, test } from "bun:test";
import { EntityDescriptionSchema } from "../../src/config/entity-description.ts";
import { isHearthError } from "../../src/core/errors.ts";
import { parseCommand } from "../../src/entities/commands.ts";

const entity = (d: Record<string, unknown>) => EntityDescriptionSchema.parse(d);
const relay = entity({ key: "relay1", kind: "switch" });
const led = entity({ key: "led", kind: "light" });
const setpoint = entity({ key: "setpoint", kind: "number", min: 5, max: 30, step: 0.5 });
const restart = entity({ key: "restart", kind: "button" });
const temperature = entity({ key: "temperature", kind: "sensor", unit: "°C" });

function refusal(d: Parameters<typeof parseCommand>[0], value: unknown): string {
  try {
    parseCommand(d, value);
  } catch (err) {
    if (isHearthError(err)) return `${err.code}: ${err.message}`;
    throw err;
  }
  throw new Error("expected a refusal");
}

test("a switch takes ON, OFF and TOGGLE in any case, booleans and 0/1", () => {
  expect(parseCommand(relay, "ON")).toEqual({ action: "turn_on" });
  expect(parseCommand(relay, "off")).toEqual({ action: "turn_off" });
  expect(parseCommand(relay, "Toggle")).toEqual({ action: "toggle" });
  expect(parseCommand(relay, true)).toEqual({ action: "turn_on" });
  expect(parseCommand(relay, 0)).toEqual({ action: "turn_off" });
  expect(refusal(relay, "MAYBE")).toBe('COMMAND_INVALID: relay1: expected ON, OFF or TOGGLE, got "MAYBE"');
});

test("a light takes a state and a brightness from 0 to 255", () => {
  expect(parseCommand(led, { state: "ON", brightness: 80 })).toEqual({ action: "turn_on", brightness: 80 });
  expect(parseCommand(led, { brightness: 0 })).toEqual({ action: "turn_off" });
  expect(parseCommand(led, { state: "OFF", brightness: 80 })).toEqual({ action: "turn_off" });
  expect(parseCommand(led, "ON")).toEqual({ action: "turn_on" });
  expect(refusal(led, { brightness: 256 })).toStartWith("COMMAND_INVALID: led: expected");
  expect(refusal(led, { colour: "red" })).toStartWith("COMMAND_INVALID: led: expected");
});

test("a number is checked against its range and step", () => {
  expect(parseCommand(setpoint, 21.5)).toEqual({ action: "set_value", value: 21.5 });
  expect(parseCommand(setpoint, "7")).toEqual({ action: "set_value", value: 7 });
  expect(refusal(setpoint, 31)).toBe("COMMAND_INVALID: setpoint: expected a number from 5 to 30, got 31");
  expect(refusal(setpoint, 21.3)).toBe("COMMAND_INVALID: setpoint: expected a multiple of 0.5 from 5, got 21.3");
  expect(refusal(setpoint, "warm")).toBe('COMMAND_INVALID: setpoint: expected a number, got "warm"');
});

test("a button takes PRESS or nothing", () => {
  expect(parseCommand(restart, "PRESS")).toEqual({ action: "press" });
  expect(parseCommand(restart, undefined)).toEqual({ action: "press" });
  expect(refusal(restart, "ON")).toBe('COMMAND_INVALID: restart: expected PRESS, got "ON"');
});

test("a sensor is read-only", () => {
  expect(refusal(temperature, 21)).toBe("COMMAND_NOT_SUPPORTED: temperature: a sensor is read-only");
});
