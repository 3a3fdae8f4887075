import { expect, test } from "bun:test";
import { join } from "node:path";
import { RESTART_EXIT_CODE, restartProcess } from "../../src/core/signals.ts";
import { OutputReader } from "../helpers/output-reader.ts";
import { loggedHub } from "./helpers.ts";

const script = join(import.meta.dir, "fixtures", "signal-hub.ts");

/** Starts the fixture hub, waits for "ready", sends `signal`; resolves with its exit code and log messages. */
async function signalHub(signal: "SIGTERM" | "SIGINT", mode: "clean" | "stubborn" | "hung") {
  const child = Bun.spawn([process.execPath, script, mode], {
    env: { ...process.env, HEARTH_LOG_FORMAT: "json" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const stdout = new OutputReader(child.stdout);
  await stdout.waitFor("ready");
  child.kill(signal);
  if (mode === "hung") {
    await stdout.waitFor('"msg":"Stopping"');
    child.kill(signal);
  }
  const code = await child.exited;
  const lines = (await stdout.done)
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { msg: string; task?: string; abandoned?: string[] });
  return { code, lines, messages: lines.map((l) => l.msg) };
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  test(`${signal} runs the staged shutdown and exits 0 when it was clean`, async () => {
    const { code, messages } = await signalHub(signal, "clean");
    expect(code).toBe(0);
    expect(messages).toContain(`Received ${signal}; shutting down`);
    expect(messages.indexOf("Stopping")).toBeGreaterThan(messages.indexOf(`Received ${signal}; shutting down`));
    expect(messages.at(-1)).toBe("Stopped");
  });
}

test("SIGTERM exits 1 and names the task it had to abandon", async () => {
  const { code, lines, messages } = await signalHub("SIGTERM", "stubborn");
  expect(code).toBe(1);
  expect(lines.find((l) => l.task === "stubborn_upload")?.msg).toBe('Shutdown stage "tracked tasks" timed out after 0.05 s; abandoned stubborn_upload');
  expect(messages.at(-1)).toBe("Stopped, abandoning 1: tracked tasks: stubborn_upload");
});

test("a second signal while shutdown hangs exits at once with the signal's code", async () => {
  const { code, messages } = await signalHub("SIGTERM", "hung");
  expect(code).toBe(143);
  expect(messages.at(-1)).toBe("Received SIGTERM again during shutdown; exiting now");
});

test("a restart runs the staged shutdown, then exits with the restart code, saying who is to start hearth again", async () => {
  for (const [env, says] of [
    [{ INVOCATION_ID: "0123456789abcdef" }, "for systemd to start hearth again (Restart=on-failure)"],
    [{}, "for its supervisor to start hearth again; not run by systemd"],
  ] as const) {
    const { hub, logs } = loggedHub();
    await hub.start();
    const codes: number[] = [];
    await restartProcess(hub, (code) => codes.push(code), env);
    expect(codes).toEqual([RESTART_EXIT_CODE]);
    expect(hub.state).toBe("stopped");
    const messages = logs.lines.map((l) => l.msg ?? "");
    expect(messages.find((m) => m.startsWith("Restart asked for"))).toContain(says);
    expect(messages.indexOf("Stopping")).toBeGreaterThan(messages.findIndex((m) => m.startsWith("Restart asked for")));
  }
  // Not 0: systemd's Restart=on-failure starts again a service that exits with any other code.
  expect(RESTART_EXIT_CODE).not.toBe(0);
});
