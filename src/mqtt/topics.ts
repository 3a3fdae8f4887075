/** The topics of hearth's MQTT API under one base (the README's topic table). */
export class Topics {
  readonly base: string;

  constructor(base: string) {
    this.base = base;
  }

  get bridgeState(): string {
    return `${this.base}/bridge/state`;
  }
  get bridgeInfo(): string {
    return `${this.base}/bridge/info`;
  }
  get bridgeDevices(): string {
    return `${this.base}/bridge/devices`;
  }
  bridgeRequest(command: string): string {
    return `${this.base}/bridge/request/${command}`;
  }
  bridgeResponse(command: string): string {
    return `${this.base}/bridge/response/${command}`;
  }
  device(id: string): string {
    return `${this.base}/${id}`;
  }
  availability(id: string): string {
    return `${this.base}/${id}/availability`;
  }
  /** Non-retained events of a device (it rebooted, …). */
  deviceEvent(id: string): string {
    return `${this.base}/${id}/event`;
  }
  deviceResponse(id: string): string {
    return `${this.base}/${id}/response`;
  }

  /** What hearth subscribes to under its base. */
  subscriptions(): string[] {
    return [`${this.base}/bridge/request/#`, `${this.base}/+/set`, `${this.base}/+/set/+`, `${this.base}/+/get`, `${this.base}/+/get/+`];
  }

  /** What an inbound topic asks for, or undefined for a topic that is not ours. */
  parse(topic: string): InboundTopic | undefined {
    if (!topic.startsWith(`${this.base}/`)) return undefined;
    const parts = topic.slice(this.base.length + 1).split("/");
    if (parts[0] === "bridge") {
      if (parts[1] !== "request" || parts.length < 3) return undefined;
      return { kind: "request", command: parts.slice(2).join("/") };
    }
    const [device, verb, entity, ...rest] = parts;
    if (device === undefined || device === "" || rest.length > 0 || (verb !== "set" && verb !== "get")) return undefined;
    if (entity === "") return undefined;
    return { kind: verb, device, entity };
  }
}

/** A parsed inbound topic. */
export type InboundTopic = { kind: "request"; command: string } | { kind: "set" | "get"; device: string; entity: string | undefined };
