import { describe, expect, test } from "bun:test";
import { lib } from "../../src/serial/libc.ts";
import { BAUD_CONSTANTS, CFLAG, encodeLineSettings, IFLAG, isStandardBaudRate, LFLAG, rateOfSpeed, TERMIOS_LAYOUTS, termiosLayout } from "../../src/serial/termios.ts";

// Established on this kind of machine for glibc on x86_64 and aarch64 (issue 4).
const FACTS = { size: 60, iflag: 0, oflag: 4, cflag: 8, lflag: 12, line: 16, cc: 17, nccs: 32, ispeed: 52, ospeed: 56 };

describe("the termios layout", () => {
  for (const arch of ["x64", "arm64"]) {
    test(`glibc's struct termios on ${arch} is 60 bytes with the known offsets`, () => {
      expect({ ...TERMIOS_LAYOUTS[arch] }).toEqual(FACTS);
    });
  }

  test("CRTSCTS is the top bit of c_cflag", () => {
    expect(CFLAG.CRTSCTS).toBe(0x80000000);
  });

  test("an architecture hearth has not checked has no layout", () => {
    expect(termiosLayout("mips")).toBeUndefined();
    expect(termiosLayout("ppc64")).toBeUndefined();
  });

  test("this machine's libc agrees: cfmakeraw and cfsetspeed write where the layout says", () => {
    const layout = termiosLayout()!;
    const termios = new Uint8Array(layout.size + 16).fill(0xff); // 16 guard bytes past the end
    lib().cfmakeraw(termios);
    expect(lib().cfsetspeed(termios, 115200)).toBe(0);
    const view = new DataView(termios.buffer);
    expect(view.getUint32(layout.lflag, true) & (LFLAG.ICANON | LFLAG.ECHO | LFLAG.ISIG)).toBe(0);
    expect(view.getUint32(layout.cflag, true) & CFLAG.CSIZE).toBe(CFLAG.CS8);
    // glibc before 2.42 stores the B constant in c_cflag and both speed fields; 2.42 the plain rate in the fields.
    expect(view.getUint32(layout.cflag, true) & CFLAG.CBAUD).toBe(BAUD_CONSTANTS.get(115200)!);
    expect(rateOfSpeed(view.getUint32(layout.ispeed, true))).toBe(115200);
    expect(rateOfSpeed(view.getUint32(layout.ospeed, true))).toBe(115200);
    expect(rateOfSpeed(lib().cfgetospeed(termios))).toBe(115200);
    expect([...termios.subarray(layout.size)]).toEqual(new Array(16).fill(0xff)); // nothing written past 60 bytes
  });
});

describe("encoding line settings", () => {
  const layout = termiosLayout("arm64")!;
  const encode = (s: Parameters<typeof encodeLineSettings>[2]) => {
    const view = new DataView(new ArrayBuffer(layout.size));
    encodeLineSettings(view, layout, s);
    return { cflag: view.getUint32(layout.cflag, true), iflag: view.getUint32(layout.iflag, true), view };
  };
  const base = { dataBits: 8, parity: "none", stopBits: 1, rtscts: false, xon: false, xoff: false, xany: false, hupcl: true } as const;

  test("7E2 with RTS/CTS sets CS7, PARENB, CSTOPB, CRTSCTS and parity checking", () => {
    const { cflag, iflag } = encode({ ...base, dataBits: 7, parity: "even", stopBits: 2, rtscts: true });
    expect(cflag & CFLAG.CSIZE).toBe(CFLAG.CS7);
    expect(cflag & CFLAG.PARENB).toBe(CFLAG.PARENB);
    expect(cflag & CFLAG.PARODD).toBe(0);
    expect(cflag & CFLAG.CSTOPB).toBe(CFLAG.CSTOPB);
    expect((cflag & CFLAG.CRTSCTS) >>> 0).toBe(CFLAG.CRTSCTS);
    expect(iflag & IFLAG.INPCK).toBe(IFLAG.INPCK);
  });

  test("mark and space parity use CMSPAR", () => {
    expect(encode({ ...base, parity: "mark" }).cflag & (CFLAG.CMSPAR | CFLAG.PARODD | CFLAG.PARENB)).toBe(CFLAG.CMSPAR | CFLAG.PARODD | CFLAG.PARENB);
    expect(encode({ ...base, parity: "space" }).cflag & (CFLAG.CMSPAR | CFLAG.PARODD)).toBe(CFLAG.CMSPAR);
  });

  test("8N1 clears what an earlier setting left, and reads return what has arrived (VMIN 1, VTIME 0)", () => {
    const view = new DataView(new ArrayBuffer(layout.size));
    view.setUint32(layout.cflag, 0xffffffff, true);
    encodeLineSettings(view, layout, { ...base, hupcl: false });
    const cflag = view.getUint32(layout.cflag, true);
    expect(cflag & (CFLAG.PARENB | CFLAG.CSTOPB | CFLAG.HUPCL)).toBe(0);
    expect((cflag & CFLAG.CRTSCTS) >>> 0).toBe(0);
    expect(cflag & (CFLAG.CREAD | CFLAG.CLOCAL)).toBe(CFLAG.CREAD | CFLAG.CLOCAL);
    expect(view.getUint8(layout.cc + 6)).toBe(1);
    expect(view.getUint8(layout.cc + 5)).toBe(0);
  });

  test("software flow control sets IXON, IXOFF and IXANY", () => {
    const { iflag } = encode({ ...base, xon: true, xoff: true, xany: true });
    expect(iflag & (IFLAG.IXON | IFLAG.IXOFF | IFLAG.IXANY)).toBe(IFLAG.IXON | IFLAG.IXOFF | IFLAG.IXANY);
  });
});

describe("baud rates", () => {
  test("the standard rates are known with their B constants, and others are not", () => {
    expect(isStandardBaudRate(9600)).toBe(true);
    expect(isStandardBaudRate(4000000)).toBe(true);
    expect(isStandardBaudRate(14400)).toBe(false);
    expect(BAUD_CONSTANTS.get(9600)).toBe(0o15);
    expect(BAUD_CONSTANTS.get(115200)).toBe(0o10002);
  });

  test("a speed from cfgetospeed reads as a rate whether glibc returned the constant or the rate", () => {
    expect(rateOfSpeed(0o10002)).toBe(115200);
    expect(rateOfSpeed(115200)).toBe(115200);
    expect(rateOfSpeed(0o15)).toBe(9600);
  });
});
