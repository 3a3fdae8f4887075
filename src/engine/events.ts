/** Events of the device engine, added to the hub's event map. */
declare module "../core/hub-events.ts" {
  interface HubEvents {
    /** A device's availability changed: its transport, or its answers to polls. */
    device_availability: { deviceId: string; available: boolean; reason?: string };
    /**
     * A device announced a (re)boot; `count` is how many boots this event stands for (1, or more when a
     * device rebooting in a loop is told once per interval).
     */
    device_rebooted: { deviceId: string; model?: string; swVersion?: string; count: number };
    /** A device's firmware update ended (engine/firmware/update.ts): how, and the version it runs. */
    device_firmware_updated: { deviceId: string; status: "updated" | "rolled_back" | "failed"; swVersion?: string };
    /** The set of configured devices changed (set-up, reload). */
    devices_changed: { added: string[]; removed: string[]; reloaded: string[] };
  }
}

export {};
