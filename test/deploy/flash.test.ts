/**
 * deploy/flash against root filesystem folders made here: a small Debian-like tree (merged /usr,
 * os-release, passwd/group/shadow/gshadow with a few system users, and a /bin/sh that is a real ELF of
 * the card's architecture: the host's own shell for x64, the aarch64 dynamic loader from Debian's
 * libc6-arm64-cross for arm64). The binaries are real hearth builds (test/deploy/binary.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BuiltRelease, builtRelease } from "./binary.ts";

const ROOT = join(import.meta.dir, "..", "..");
const FLASH = join(ROOT, "deploy", "flash");
const ARM64_ELF = "/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1";
const SHADOW_GID = 42;
/** The ids the tree's files leave free at the top of the system range: 999 and 998 are taken. */
const HEARTH_ID = 997;

/** Debian's libc6-arm64-cross provides a real aarch64 ELF to stand as an arm64 card's /bin/sh. */
const HAVE_ARM64_ELF = existsSync(ARM64_ELF);
if (!HAVE_ARM64_ELF) console.warn(`${ARM64_ELF} not found (Debian package libc6-arm64-cross): the arm64 card tests are skipped`);
const arm64Test = test.skipIf(!HAVE_ARM64_ELF);

const temp = mkdtempSync(join(tmpdir(), "hearth-flash-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));
let counter = 0;

function tempDir(name: string): string {
  const dir = join(temp, `${name}-${++counter}`);
  mkdirSync(dir);
  return dir;
}

function write(path: string, text: string, mode = 0o644, gid = 0): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
  chownSync(path, 0, gid);
  chmodSync(path, mode);
}

/** A card's root partition as a folder: what deploy/flash needs to recognise it, and no more. */
function makeRootfs(arch: "x64" | "arm64"): string {
  const root = tempDir(`rootfs-${arch}`);
  mkdirSync(join(root, "usr/bin"), { recursive: true });
  mkdirSync(join(root, "etc"));
  symlinkSync("usr/bin", join(root, "bin"));
  copyFileSync(arch === "x64" ? realpathSync("/bin/sh") : ARM64_ELF, join(root, "usr/bin/dash"));
  chmodSync(join(root, "usr/bin/dash"), 0o755);
  symlinkSync("dash", join(root, "usr/bin/sh"));
  write(join(root, "usr/sbin/nologin"), "", 0o755);
  write(join(root, "usr/lib/os-release"), `PRETTY_NAME="Test Card OS (${arch})"\nID=debian\n`);
  // Absolute, as some images have it: it must resolve inside the card, not on this machine.
  symlinkSync("/usr/lib/os-release", join(root, "etc/os-release"));
  write(join(root, "var/lib/dpkg/arch"), arch === "x64" ? "amd64\n" : "arm64\n");
  write(
    join(root, "etc/passwd"),
    "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nsystemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin\nmessagebus:x:999:999::/nonexistent:/usr/sbin/nologin\npi:x:1000:1000:,,,:/home/pi:/bin/bash\n",
  );
  write(join(root, "etc/group"), "root:x:0:\ndaemon:x:1:\ndialout:x:20:pi\nshadow:x:42:\nsystemd-network:x:998:\nmessagebus:x:999:\npi:x:1000:\n");
  write(join(root, "etc/shadow"), "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\npi:$y$j9T$abc:19000:0:99999:7:::\n", 0o640, SHADOW_GID);
  write(join(root, "etc/gshadow"), "root:*::\ndialout:*::pi\nshadow:*::\npi:!::\n", 0o640, SHADOW_GID);
  return root;
}

interface Node {
  type: "file" | "dir" | "link";
  mode: number;
  uid: number;
  gid: number;
  content?: string;
}

/** Every path in a tree with its type, mode, owner and content (a file's bytes, a link's target). */
function snapshot(root: string): Record<string, Node> {
  const nodes: Record<string, Node> = {};
  const visit = (rel: string) => {
    const stat = lstatSync(join(root, rel));
    const base = { mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid };
    if (stat.isSymbolicLink()) nodes[rel] = { type: "link", ...base, content: readlinkSync(join(root, rel)) };
    else if (stat.isDirectory()) {
      nodes[rel] = { type: "dir", ...base };
      for (const name of readdirSync(join(root, rel))) visit(`${rel}/${name}`);
    } else nodes[rel] = { type: "file", ...base, content: new Bun.CryptoHasher("sha256").update(readFileSync(join(root, rel))).digest("hex") };
  };
  visit("");
  return nodes;
}

function flash(...args: string[]) {
  const result = Bun.spawnSync([FLASH, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  return { code: result.exitCode, out: result.stdout.toString(), err: result.stderr.toString() };
}

function configFile(
  text = "node_id: greenhouse-pi\nmqtt:\n  url: mqtt://192.168.1.10:1883\n  username: hearth\n  password_file: /etc/hearth/mqtt-password\ndevices:\n  - id: greenhouse\n    model: hearth-io\n    port: /dev/serial0\n",
): string {
  const file = join(tempDir("config"), "hearth.yaml");
  writeFileSync(file, text);
  return file;
}

function secretsFile(): string {
  const file = join(tempDir("secrets"), "password");
  writeFileSync(file, "correct horse battery staple\n");
  return file;
}

function lines(root: string, path: string): string[] {
  return readFileSync(join(root, path), "utf8").trimEnd().split("\n");
}

let arm64: BuiltRelease;
let x64: BuiltRelease;
beforeAll(async () => {
  [arm64, x64] = await Promise.all([builtRelease("arm64"), builtRelease("x64")]);
}, 600_000);

describe("flashing an arm64 card", () => {
  arm64Test("installs the binary, config, password, user, unit and enable link, each with its owner and mode", () => {
    const root = makeRootfs("arm64");
    const config = configFile();
    const secrets = secretsFile();
    const before = snapshot(root);

    const { code, out, err } = flash("--rootfs", root, "--config", config, "--binary", arm64.binary, "--secrets", secrets);
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out).toContain("Test Card OS (arm64)");
    expect(out).toContain(`matches hearth-${arm64.version}.sha256`);
    const after = snapshot(root);
    const v = arm64.version;

    // The account, with ids read from the card: 999 and 998 are taken there.
    expect(lines(root, "etc/passwd")).toContain(`hearth:x:${HEARTH_ID}:${HEARTH_ID}:hearth:/var/lib/hearth:/usr/sbin/nologin`);
    expect(lines(root, "etc/group")).toContain(`hearth:x:${HEARTH_ID}:`);
    expect(lines(root, "etc/group")).toContain("dialout:x:20:pi,hearth");
    expect(lines(root, "etc/shadow").filter((l) => l.startsWith("hearth:"))).toEqual([expect.stringMatching(/^hearth:!:\d+::::::$/)]);
    expect(lines(root, "etc/gshadow")).toContain("hearth:!::");
    expect(lines(root, "etc/gshadow")).toContain("dialout:*::pi,hearth");
    for (const file of ["/etc/passwd", "/etc/group"]) expect(after[file]).toMatchObject({ type: "file", mode: 0o644, uid: 0, gid: 0 });
    for (const file of ["/etc/shadow", "/etc/gshadow"]) expect(after[file]).toMatchObject({ type: "file", mode: 0o640, uid: 0, gid: SHADOW_GID });

    expect(after[`/opt/hearth/releases/${v}/hearth`]).toEqual({ type: "file", mode: 0o755, uid: 0, gid: 0, content: snapshotOfFile(arm64.binary) });
    expect(after["/opt/hearth/current"]).toMatchObject({ type: "link", content: `releases/${v}` });
    expect(realpathSync(join(root, "opt/hearth/current/hearth"))).toBe(realpathSync(join(root, `opt/hearth/releases/${v}/hearth`)));
    expect(after["/usr/local/bin/hearth"]).toMatchObject({ type: "link", content: "/opt/hearth/current/hearth" }); // on the board's PATH
    for (const dir of ["/opt/hearth", "/opt/hearth/releases", `/opt/hearth/releases/${v}`]) expect(after[dir]).toEqual({ type: "dir", mode: 0o755, uid: 0, gid: 0 });

    expect(after["/etc/hearth"]).toEqual({ type: "dir", mode: 0o750, uid: 0, gid: HEARTH_ID });
    expect(after["/etc/hearth/hearth.yaml"]).toEqual({ type: "file", mode: 0o640, uid: 0, gid: HEARTH_ID, content: snapshotOfFile(config) });
    expect(after["/etc/hearth/mqtt-password"]).toEqual({ type: "file", mode: 0o600, uid: HEARTH_ID, gid: HEARTH_ID, content: snapshotOfFile(secrets) });
    expect(after["/var/lib/hearth"]).toEqual({ type: "dir", mode: 0o750, uid: HEARTH_ID, gid: HEARTH_ID });

    expect(after["/etc/systemd/system/hearth.service"]).toEqual({ type: "file", mode: 0o644, uid: 0, gid: 0, content: snapshotOfFile(join(ROOT, "deploy/hearth.service")) });
    expect(after["/etc/systemd/system/multi-user.target.wants/hearth.service"]).toMatchObject({ type: "link", content: "/etc/systemd/system/hearth.service" });

    // Nothing else changed, and nothing else appeared.
    const changed = Object.keys(after).filter((p) => JSON.stringify(after[p]) !== JSON.stringify(before[p]));
    expect(changed.sort()).toEqual(
      [
        "/etc/passwd",
        "/etc/group",
        "/etc/shadow",
        "/etc/gshadow",
        "/etc/hearth",
        "/etc/hearth/hearth.yaml",
        "/etc/hearth/mqtt-password",
        "/etc/systemd",
        "/etc/systemd/system",
        "/etc/systemd/system/hearth.service",
        "/etc/systemd/system/multi-user.target.wants",
        "/etc/systemd/system/multi-user.target.wants/hearth.service",
        "/opt",
        "/opt/hearth",
        "/opt/hearth/current",
        "/opt/hearth/releases",
        `/opt/hearth/releases/${v}`,
        `/opt/hearth/releases/${v}/hearth`,
        "/usr/local",
        "/usr/local/bin",
        "/usr/local/bin/hearth",
        "/var/lib/hearth",
      ].sort(),
    );
    expect(Object.keys(before).filter((p) => !(p in after))).toEqual([]);
  });

  arm64Test("flashing twice leaves the same card as flashing once", () => {
    const root = makeRootfs("arm64");
    const args = ["--rootfs", root, "--config", configFile(), "--binary", arm64.binary, "--secrets", secretsFile()];
    expect(flash(...args).code).toBe(0);
    const once = snapshot(root);
    const again = flash(...args);
    expect(again.err).toBe("");
    expect(again.code).toBe(0);
    expect(snapshot(root)).toEqual(once);
  });

  arm64Test("an x64 binary is refused, and nothing is written", () => {
    const root = makeRootfs("arm64");
    const before = snapshot(root);
    const { code, err } = flash("--rootfs", root, "--config", configFile(), "--binary", x64.binary);
    expect(code).toBe(1);
    expect(err).toContain("is built for x86_64 (x64), but the card's system is aarch64 (arm64)");
    expect(err).toContain("Nothing was written");
    expect(snapshot(root)).toEqual(before);
  });

  arm64Test("a binary that does not match its checksum file is refused", () => {
    const root = makeRootfs("arm64");
    const dist = tempDir("dist");
    const name = `hearth-${arm64.version}-linux-arm64`;
    copyFileSync(arm64.binary, join(dist, name));
    writeFileSync(join(dist, `hearth-${arm64.version}.sha256`), `${"0".repeat(64)}  ${name}\n`);
    const before = snapshot(root);
    const { code, err } = flash("--rootfs", root, "--config", configFile(), "--binary", join(dist, name));
    expect(code).toBe(1);
    expect(err).toContain(`does not match ${join(dist, `hearth-${arm64.version}.sha256`)}`);
    expect(snapshot(root)).toEqual(before);
  });
});

describe("flashing an x64 card", () => {
  test("without --binary, the binary for the card's architecture is taken from the dist folder", () => {
    const root = makeRootfs("x64");
    const dist = join(x64.binary, "..");
    const { code, out, err } = flash("--rootfs", root, "--config", configFile(), "--dist", dist, "--version", x64.version);
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out).toContain("x86_64 (x64)");
    expect(snapshot(root)[`/opt/hearth/releases/${x64.version}/hearth`]?.content).toBe(snapshotOfFile(x64.binary));
    // The card's x64 binary runs here too: through the current link, it reports the version installed.
    const run = Bun.spawnSync([join(root, "opt/hearth/current/hearth"), "--version"], { stdout: "pipe", stderr: "pipe" });
    expect(run.stdout.toString().trim()).toBe(x64.version);
  });

  test("an absolute symlink in the card points into the card, never to this machine", () => {
    const root = makeRootfs("x64");
    // As if the image kept its units elsewhere: etc/systemd -> /usr/local/etc-systemd (inside the card).
    mkdirSync(join(root, "usr/local/etc-systemd"), { recursive: true });
    symlinkSync("/usr/local/etc-systemd", join(root, "etc/systemd"));
    const { code, err } = flash("--rootfs", root, "--config", configFile(), "--binary", x64.binary);
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(existsSync(join(root, "usr/local/etc-systemd/system/hearth.service"))).toBe(true);
    expect(existsSync("/usr/local/etc-systemd")).toBe(false);
    expect(readlinkSync(join(root, "etc/systemd"))).toBe("/usr/local/etc-systemd");
  });
});

describe("refusals", () => {
  test("a folder that is not a Linux root filesystem is refused, and nothing is written", () => {
    const dir = tempDir("not-a-rootfs");
    writeFileSync(join(dir, "notes.txt"), "holiday photos\n");
    const before = snapshot(dir);
    const { code, err } = flash("--rootfs", dir, "--config", configFile(), "--binary", x64.binary);
    expect(code).toBe(1);
    expect(err).toContain("does not look like a Linux root filesystem: no etc/os-release (nor usr/lib/os-release), no etc/passwd, no etc/group, no bin/sh");
    expect(snapshot(dir)).toEqual(before);
  });

  test("a 32-bit ARM card is refused: Bun has no 32-bit ARM build", () => {
    const root = makeRootfs("x64");
    // The first bytes of a 32-bit little-endian ARM executable (e_machine 40), as the /bin/sh of an armhf system.
    const header = new Uint8Array(52);
    header.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
    header[16] = 2;
    header[18] = 40;
    writeFileSync(join(root, "usr/bin/dash"), header);
    const before = snapshot(root);
    const { code, err } = flash("--rootfs", root, "--config", configFile(), "--binary", x64.binary);
    expect(code).toBe(1);
    expect(err).toContain("is a 32-bit ARM system (from /bin/sh); hearth needs a 64-bit OS");
    expect(snapshot(root)).toEqual(before);
  });

  test("a bad config is refused with its path-named error, and nothing is written", () => {
    const root = makeRootfs("x64");
    const before = snapshot(root);
    const config = configFile("devices:\n  - id: greenhouse\n    model: hearth-io\n    port: /dev/serial0\n    baud: fast\n");
    const { code, err } = flash("--rootfs", root, "--config", config, "--binary", x64.binary);
    expect(code).toBe(2);
    expect(err).toContain(`${config}: invalid`);
    expect(err).toContain('devices[0].baud: expected one of 1200…921600, got "fast"');
    expect(snapshot(root)).toEqual(before);
  });

  test("--secrets without mqtt.password_file in the config is refused", () => {
    const root = makeRootfs("x64");
    const before = snapshot(root);
    const { code, err } = flash("--rootfs", root, "--config", configFile("devices: []\n"), "--binary", x64.binary, "--secrets", secretsFile());
    expect(code).toBe(1);
    expect(err).toContain("--secrets needs mqtt.password_file in the config");
    expect(snapshot(root)).toEqual(before);
  });
});

describe("a Raspberry Pi boot partition", () => {
  function makeBoot(): string {
    const boot = tempDir("boot");
    writeFileSync(join(boot, "config.txt"), "# For more options and information see\n[pi4]\narm_boost=1\n\n[all]\ndtoverlay=vc4-kms-v3d\n");
    writeFileSync(join(boot, "cmdline.txt"), "console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait\n");
    writeFileSync(join(boot, "start4.elf"), "");
    return boot;
  }

  arm64Test("is only looked at without --enable-uart", () => {
    const root = makeRootfs("arm64");
    const boot = makeBoot();
    const before = snapshot(boot);
    const { code, out } = flash("--rootfs", root, "--boot", boot, "--config", configFile(), "--binary", arm64.binary);
    expect(code).toBe(0);
    expect(out).toContain("Raspberry Pi boot partition, left alone");
    expect(snapshot(boot)).toEqual(before);
  });

  arm64Test("--enable-uart turns the GPIO UART on and takes the serial console off it, once however often it runs", () => {
    const root = makeRootfs("arm64");
    const boot = makeBoot();
    const args = ["--rootfs", root, "--boot", boot, "--enable-uart", "--config", configFile(), "--binary", arm64.binary];
    expect(flash(...args).code).toBe(0);
    expect(flash(...args).code).toBe(0);
    const config = readFileSync(join(boot, "config.txt"), "utf8");
    expect(config.startsWith("# For more options and information see\n[pi4]\narm_boost=1\n")).toBe(true);
    expect(config.match(/^enable_uart=1$/gm)).toEqual(["enable_uart=1"]);
    expect(config.trimEnd().endsWith("[all]\nenable_uart=1")).toBe(true);
    expect(readFileSync(join(boot, "cmdline.txt"), "utf8")).toBe("console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait\n");
  });

  arm64Test("--enable-uart on a folder that is not a Pi boot partition is refused, and nothing is written", () => {
    const root = makeRootfs("arm64");
    const boot = tempDir("not-boot");
    const before = snapshot(root);
    const { code, err } = flash("--rootfs", root, "--boot", boot, "--enable-uart", "--config", configFile(), "--binary", arm64.binary);
    expect(code).toBe(1);
    expect(err).toContain("does not look like a Raspberry Pi boot partition");
    expect(snapshot(root)).toEqual(before);
  });
});

test("the unit passes systemd-analyze verify", () => {
  const analyze = Bun.which("systemd-analyze");
  if (analyze === null) {
    console.warn("systemd-analyze not found (Debian package systemd): the unit is not verified");
    return;
  }
  // verify wants ExecStart's binary to exist: check a copy whose ExecStart points at a stand-in.
  const dir = tempDir("unit");
  const standIn = join(dir, "hearth");
  writeFileSync(standIn, "#!/bin/sh\n", { mode: 0o755 });
  const unit = readFileSync(join(ROOT, "deploy/hearth.service"), "utf8");
  expect(unit).toContain("ExecStart=/opt/hearth/current/hearth run --config /etc/hearth/hearth.yaml");
  writeFileSync(join(dir, "hearth.service"), unit.replace("/opt/hearth/current/hearth", standIn));
  const result = Bun.spawnSync([analyze, "verify", join(dir, "hearth.service")], { stdout: "pipe", stderr: "pipe" });
  // verify exits 0 even for unknown keys, so its output must be empty too.
  expect(`${result.stdout}${result.stderr}`).toBe("");
  expect(result.exitCode).toBe(0);
});

function snapshotOfFile(path: string): string {
  return new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");
}
