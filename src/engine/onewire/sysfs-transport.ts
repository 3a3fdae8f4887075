import { HearthError } from "../../core/errors.ts";
import type { DeviceErrorCode } from "../device-error.ts";
import type { LinkState, Transport } from "../transport.ts";

/**
 * The "transport" of a sysfs device: nothing to open (the kernel's w1 driver owns the bus), always open,
 * no frames. It lets 1-Wire probes run on the same engine as serial devices.
 */
export class SysfsTransport implements Transport {
  readonly state: LinkState = "open";

  constructor(readonly path: string) {}

  async open(): Promise<void> {}

  async close(): Promise<void> {}

  async write(): Promise<void> {
    throw new HearthError<DeviceErrorCode>("DEVICE_NOT_WRITABLE", `${this.path}: a sysfs device is read through its files, not written to`);
  }

  onFrame(): () => void {
    return () => {};
  }

  onState(): () => void {
    return () => {};
  }
}
