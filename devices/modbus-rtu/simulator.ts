/**
 * Modbus RTU slaves on one simulated RS-485 bus: each address has its own coils, discrete inputs,
 * holding and input registers. Requests are cut by their length (as a slave's firmware does), so a
 * request split across reads still works. A request with a bad CRC or for another address gets no
 * reply, as on a real bus; an address listed in `silent` never answers.
 */
import { crcValid, rtuFrame } from "../../src/engine/modbus/crc.ts";
import { type DataType, decodeValue, encodeValue, type WordOrder } from "../../src/engine/modbus/registers.ts";
import { keepRecord } from "../../src/engine/simulator.ts";

export interface SimulatorPort {
  write(bytes: Uint8Array): void;
}

/** One slave's data; an address missing from a table gets exception 2 (illegal data address). */
export class SlaveData {
  readonly coils = new Map<number, boolean>();
  readonly discreteInputs = new Map<number, boolean>();
  readonly holding = new Map<number, number>();
  readonly input = new Map<number, number>();

  /** Maps `count` addresses from `start` in every table (zeros and offs). */
  static zeros(start: number, count: number): SlaveData {
    const d = new SlaveData();
    for (let a = start; a < start + count; a++) {
      d.coils.set(a, false);
      d.discreteInputs.set(a, false);
      d.holding.set(a, 0);
      d.input.set(a, 0);
    }
    return d;
  }

  /** A meter's data: every input register below `span` answers (unused ones read 0), as meters' maps do. */
  static inputSpan(span: number): SlaveData {
    const d = new SlaveData();
    for (let a = 0; a < span; a++) d.input.set(a, 0);
    return d;
  }

  /** Sets a value of `type` (its words in `order`) in a register table. */
  setValue(table: "holding" | "input", address: number, value: number, type: DataType, order: WordOrder = "big"): void {
    const words = encodeValue(value, type, order);
    for (let i = 0; i < words.length; i++) this[table].set(address + i, words[i]!);
  }

  /** Reads a value of `type` (its words in `order`) from a register table. */
  getValue(table: "holding" | "input", address: number, type: DataType, order: WordOrder = "big"): number {
    return decodeValue([this[table].get(address) ?? 0, this[table].get(address + 1) ?? 0], 0, type, order);
  }

  /** Sets a float32 (high word first) in a register table. */
  setFloat(table: "holding" | "input", address: number, value: number): void {
    this.setValue(table, address, value, "float32");
  }

  /** Reads a float32 (high word first) from a register table. */
  getFloat(table: "holding" | "input", address: number): number {
    return this.getValue(table, address, "float32");
  }
}

export interface ModbusBusOptions {
  /** Addresses present on the bus (each gets 0–199 in every table); default [1]. */
  slaves?: number[];
  /** Shorthand for one address. */
  slave?: number;
  /**
   * Pace replies as a real line at this baud would: a reply leaves only after the request's and its
   * own bytes have had time to cross the wire (a pty moves bytes at once). 0 or absent: no pacing.
   */
  baud?: number;
  /** Registers one read may ask for (a meter's own limit); more get exception 3. Default 125. */
  maxRegisters?: number;
}

/** A function outside the standard ones that the simulated slaves answer: its request's data length and its reply PDU. */
export interface CustomFunction {
  dataLength: number;
  answer(slave: SlaveData, pdu: Uint8Array): Uint8Array;
}

/** A simulated bus of Modbus RTU slaves. */
export class ModbusBusSimulator {
  readonly slaves = new Map<number, SlaveData>();
  /** Addresses that never answer (a dead meter). */
  readonly silent = new Set<number>();
  /** Addresses whose replies are corrupted on the line (one bit flipped, so their CRC fails). */
  readonly corrupted = new Set<number>();
  /** The last requests received with a good CRC (SIMULATOR_RECORD_MAX), in order: address, function code, the whole frame, and when (performance.now()). */
  readonly received: Array<{ slave: number; functionCode: number; frame: Uint8Array; at: number }> = [];
  /** Functions beyond the standard ones, by code (a model's own, such as a meter's energy reset). */
  readonly functions = new Map<number, CustomFunction>();
  /** Requests dropped for a bad CRC. */
  badCrc = 0;

  protected readonly port: SimulatorPort;
  private readonly baud: number;
  private readonly maxRegisters: number;
  private buffer = new Uint8Array(0);
  private watchers: Array<{ until: () => boolean; resolve: () => void }> = [];
  private queue: Promise<void> = Promise.resolve();

  constructor(port: SimulatorPort, options: ModbusBusOptions = {}) {
    this.port = port;
    this.baud = Number(options.baud ?? 0);
    this.maxRegisters = Number(options.maxRegisters ?? 125);
    for (const address of options.slaves ?? [Number(options.slave ?? 1)]) this.slaves.set(address, SlaveData.zeros(0, 200));
  }

  start(): void {}

  /** Resolves once `until` holds, checked after each request (for tests and benchmarks: no polling). */
  whenReceived(until: () => boolean): Promise<void> {
    if (until()) return Promise.resolve();
    return new Promise((resolve) => this.watchers.push({ until, resolve }));
  }

  stop(): void {}

  receive(bytes: Uint8Array): void {
    const joined = new Uint8Array(this.buffer.length + bytes.length);
    joined.set(this.buffer);
    joined.set(bytes, this.buffer.length);
    this.buffer = joined;
    for (;;) {
      const n = this.requestLength(this.buffer);
      if (n === undefined || this.buffer.length < n) return;
      const frame = this.buffer.slice(0, n);
      this.buffer = this.buffer.slice(n);
      this.handle(frame);
    }
  }

  private handle(frame: Uint8Array): void {
    if (!crcValid(frame)) {
      this.badCrc++;
      this.buffer = new Uint8Array(0); // resynchronise: what follows a corrupt frame cannot be trusted
      return;
    }
    const slave = frame[0]!;
    const fc = frame[1]!;
    keepRecord(this.received, { slave, functionCode: fc, frame, at: performance.now() });
    this.watchers = this.watchers.filter((w) => {
      if (!w.until()) return true;
      w.resolve();
      return false;
    });
    const data = this.slaves.get(slave);
    if (data === undefined || this.silent.has(slave)) return;
    const reply = rtuFrame(slave, this.answer(data, frame.subarray(1, frame.length - 2)));
    if (this.corrupted.has(slave)) reply[Math.min(3, reply.length - 3)]! ^= 0x10;
    this.send(frame.length, reply);
  }

  private send(requestBytes: number, reply: Uint8Array): void {
    if (this.baud <= 0) return this.port.write(reply);
    // On a real line the request takes its characters, the slave waits the 3.5-character silence
    // that ends it, then its reply takes its own (10 bits a character at 8N1; the master's framer
    // then waits out the reply's silence itself).
    const ms = ((requestBytes + 3.5 + reply.length) * 10 * 1000) / this.baud;
    this.queue = this.queue.then(() => new Promise<void>((resolve) => setTimeout(resolve, ms))).then(() => this.port.write(reply));
  }

  /** The reply PDU to one request PDU. */
  private answer(d: SlaveData, pdu: Uint8Array): Uint8Array {
    const fc = pdu[0]!;
    const a = (pdu[1]! << 8) | pdu[2]!;
    const b = (pdu[3]! << 8) | pdu[4]!;
    const exception = (code: number) => Uint8Array.of(fc | 0x80, code);
    switch (fc) {
      case 1:
      case 2: {
        const table = fc === 1 ? d.coils : d.discreteInputs;
        if (b < 1 || b > 2000) return exception(3);
        const out = new Uint8Array(2 + Math.ceil(b / 8));
        out[0] = fc;
        out[1] = out.length - 2;
        for (let i = 0; i < b; i++) {
          const v = table.get(a + i);
          if (v === undefined) return exception(2);
          if (v) out[2 + (i >> 3)]! |= 1 << (i & 7);
        }
        return out;
      }
      case 3:
      case 4: {
        const table = fc === 3 ? d.holding : d.input;
        if (b < 1 || b > this.maxRegisters) return exception(3);
        const out = new Uint8Array(2 + b * 2);
        out[0] = fc;
        out[1] = b * 2;
        for (let i = 0; i < b; i++) {
          const v = table.get(a + i);
          if (v === undefined) return exception(2);
          out[2 + i * 2] = v >>> 8;
          out[3 + i * 2] = v & 0xff;
        }
        return out;
      }
      case 5:
        if (!d.coils.has(a)) return exception(2);
        if (b !== 0xff00 && b !== 0) return exception(3);
        d.coils.set(a, b === 0xff00);
        return pdu.slice(0, 5);
      case 6:
        if (!d.holding.has(a)) return exception(2);
        d.holding.set(a, b);
        return pdu.slice(0, 5);
      case 15:
        for (let i = 0; i < b; i++) if (!d.coils.has(a + i)) return exception(2);
        for (let i = 0; i < b; i++) d.coils.set(a + i, ((pdu[6 + (i >> 3)]! >> (i & 7)) & 1) === 1);
        return pdu.slice(0, 5);
      case 16:
        for (let i = 0; i < b; i++) if (!d.holding.has(a + i)) return exception(2);
        for (let i = 0; i < b; i++) d.holding.set(a + i, (pdu[6 + i * 2]! << 8) | pdu[7 + i * 2]!);
        return pdu.slice(0, 5);
      default: {
        const custom = this.functions.get(fc);
        return custom === undefined ? exception(1) : custom.answer(d, pdu);
      }
    }
  }

  /** A request's length from its first bytes, or undefined until enough have arrived. */
  private requestLength(buffer: Uint8Array): number | undefined {
    if (buffer.length < 2) return undefined;
    const fc = buffer[1]!;
    if (fc >= 1 && fc <= 6) return 8;
    if (fc === 15 || fc === 16) return buffer.length < 7 ? undefined : 9 + buffer[6]!;
    const custom = this.functions.get(fc);
    if (custom !== undefined) return 4 + custom.dataLength;
    return buffer.length; // an unknown function: take what came (a slave answers "illegal function")
  }
}
