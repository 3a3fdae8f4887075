import { expect, test } from "bun:test";
import { join } from "node:path";
import { tempDir } from "../helpers/temp.ts";
import { broker, cleanUpAfterEach, configFile, hearth, peer, yaml } from "./helpers.ts";

cleanUpAfterEach();

/** A throwaway CA and a server certificate it signed for 127.0.0.1, made with openssl. */
async function throwawayCa(): Promise<{ dir: string; ca: string; cert: string; key: string }> {
  const dir = tempDir("hearth-tls-");
  const run = async (...args: string[]) => {
    const p = Bun.spawn(["openssl", ...args], { cwd: dir, stdout: "ignore", stderr: "pipe" });
    if ((await p.exited) !== 0) throw new Error(`openssl ${args[0]} failed: ${await new Response(p.stderr).text()}`);
  };
  await run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=hearth test CA", "-keyout", "ca.key", "-out", "ca.crt");
  await run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr");
  await Bun.write(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1\n");
  await run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", "san.ext", "-out", "server.crt");
  return { dir, ca: join(dir, "ca.crt"), cert: join(dir, "server.crt"), key: join(dir, "server.key") };
}

test("hearth connects over TLS to a broker whose certificate its configured CA signed, verifying it", async () => {
  const pki = await throwawayCa();
  const b = await broker({ tls: pki });
  expect(b.url).toStartWith("mqtts://");
  const user = await peer(b.url, ["hearth/test/#"], {
    ca: await Bun.file(pki.ca)
      .bytes()
      .then((x) => Buffer.from(x)),
  });
  await hearth(configFile(yaml(b.url, ["board"], `  tls: { ca: ${pki.ca}, verify: true }\n`)));
  expect((await user.next("hearth/test/board/availability", (p) => p === "online")).payload).toBe("online");
});

test("a broker certificate the configured CA did not sign is refused, and hearth keeps running", async () => {
  const pki = await throwawayCa();
  const other = await throwawayCa();
  const b = await broker({ tls: pki });
  const { service, logs } = await hearth(configFile(yaml(b.url, ["board"], `  tls: { ca: ${other.ca}, verify: true }\n`)));
  await service.hub.bus.waitFor("device_availability", (d) => d.available, AbortSignal.timeout(5000));
  // The refusal is logged once the TLS handshake has failed, which may come after the device is up.
  const refused = () => logs.lines.some((l) => String(l.msg).startsWith("MQTT connection to mqtts://127.0.0.1") && /certificate|verify|self.signed/i.test(String(l.msg)));
  for (const deadline = Date.now() + 10_000; !refused() && Date.now() < deadline; ) await Bun.sleep(20);
  expect(refused()).toBe(true);
  expect(service.bridge!.connection!.connected).toBe(false);
});
