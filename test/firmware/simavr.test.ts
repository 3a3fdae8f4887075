import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { deviceHub, stateOf } from "../engine/helpers.ts";
import { buildFirmware, type EmulatedBoard, startEmulator } from "../helpers/simavr.ts";
import { tempDir } from "../helpers/temp.ts";

// The real hearth-io firmware, built by Debian's AVR toolchain, run on an emulated ATmega328P (simavr,
// Debian's libsimavr) whose UART is a pseudo-terminal (the parts library's uart_pty, through the small
// harness in devices/hearth-io/firmware/simavr/), and hearth's device engine talking to it as to a board.
// simavr has no DHT22 part: the sensor's line floats high, so what is tested is the firmware's
// no-reading path (temperature and humidity "nan", unknown in hearth).
const UART_LINK = "/tmp/simavr-uart0"; // the link uart_pty makes; the harness removes it when it ends

let board: EmulatedBoard | undefined;
let pty = "";

beforeAll(async () => {
  const { elf, harness } = await buildFirmware(tempDir("hearth-simavr-"));
  board = await startEmulator(harness, [elf]);
  pty = board.pty;
}, 120_000);

afterAll(async () => {
  await board?.stop();
  expect(existsSync(UART_LINK)).toBe(false);
});

test("the real firmware on an emulated ATmega328P: hello with its version, GET, SET of a relay and the LED, and a restart hearth sees", async () => {
  const { hub, manager, stop } = await deviceHub([{ id: "mcu", port: pty, options: {} }]);
  try {
    const relay = await stateOf(hub, "switch.mcu_relay1", (s) => s.state === "off", 20_000);
    expect(relay.state).toBe("off");
    const device = manager.device("mcu")!;
    expect(device.swVersion).toBe("1.0.0"); // from its HELLO line
    // No DHT22 in the emulator: the firmware says nan, and hearth keeps the sensor unknown, not a number.
    expect(hub.states.get("sensor.mcu_temperature")?.state).toBe("unknown");

    await device.command("relay1", "ON");
    await stateOf(hub, "switch.mcu_relay1", (s) => s.state === "on", 20_000);
    await device.command("led", { state: "ON", brightness: 128 });
    const led = await stateOf(hub, "light.mcu_led", (s) => s.state === "on", 20_000);
    expect(led.attributes.brightness).toBe(128);

    // The restart button: the watchdog resets the MCU, setup() says HELLO again, the relay is off again.
    const rebooted = hub.bus.waitFor("device_rebooted", (d) => d.deviceId === "mcu", AbortSignal.timeout(20_000));
    await device.command("restart", "PRESS");
    await rebooted;
    await stateOf(hub, "switch.mcu_relay1", (s) => s.state === "off", 20_000);
  } finally {
    await stop();
  }
}, 60_000);
