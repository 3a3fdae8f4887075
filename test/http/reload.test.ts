import { expect, test } from "bun:test";
import { broker, cleanUpAfterEach, configFile, hearth, yaml } from "../mqtt/helpers.ts";
import { scrape } from "./scrape.ts";

// The web server of a real hearth (on a real Mosquitto) across a configuration reload.
cleanUpAfterEach();

test("a reload that changes http: says it waits for a restart, and the server keeps its address meanwhile", async () => {
  const b = await broker();
  const file = configFile(yaml(b.url, ["board"], "http:\n  listen: 127.0.0.1:0\n"));
  const { service } = await hearth(file);
  const before = service.http!.url.href;
  file.write(yaml(b.url, ["board"], "http:\n  listen: 127.0.0.2:0\n"));
  const result = await service.reload();
  expect(result).toMatchObject({ ok: true, notes: [expect.stringContaining("http settings changed: they take effect when hearth restarts")] });
  expect(service.http!.url.href).toBe(before);
  expect(service.config.http?.listen).toBe("127.0.0.1:0");
  await scrape(service.http!.url);
});
