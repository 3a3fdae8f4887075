import { expect, test } from "bun:test";
import { EntityDescriptionSchema } from "../../src/config/entity-description.ts";
import { ManualClock } from "../../src/core/clock.ts";
import { Hub } from "../../src/core/hub.ts";
import { StateWriter } from "../../src/engine/state-writer.ts";
import { Entity } from "../../src/entities/entity.ts";

function setup(d: Record<string, unknown>) {
  const clock = new ManualClock();
  const hub = new Hub({ clock });
  const entity = new Entity({ description: EntityDescriptionSchema.parse(d), nodeId: "n", deviceId: "dev" });
  const writer = new StateWriter({ states: hub.states, clock });
  const seen: string[] = [];
  hub.bus.listen("state_changed", async (e) => void seen.push(e.data.newState?.state ?? "removed"));
  return { hub, clock, entity, writer, seen };
}

test("a change smaller than the deadband is no change", () => {
  const { hub, entity, writer } = setup({ key: "t", kind: "sensor", deadband: 0.5 });
  writer.write(entity, "20.0");
  writer.write(entity, "20.3");
  expect(hub.states.get(entity.entityId)?.state).toBe("20");
  writer.write(entity, "20.6");
  expect(hub.states.get(entity.entityId)?.state).toBe("20.6");
});

test("a throttled entity is written at most once per window, and the latest value wins", async () => {
  const { hub, clock, entity, writer } = setup({ key: "t", kind: "sensor", throttle: 0.1 });
  writer.write(entity, "1");
  writer.write(entity, "2");
  writer.write(entity, "3");
  expect(hub.states.get(entity.entityId)?.state).toBe("1");
  clock.advance(99);
  expect(hub.states.get(entity.entityId)?.state).toBe("1");
  const next = hub.bus.waitFor("state_changed", (d) => d.entityId === entity.entityId);
  clock.advance(1);
  expect((await next).data.newState?.state).toBe("3");
  expect((await next).data.oldState?.state).toBe("1");
});

test("unavailable is written at once, even within a throttle window", () => {
  const { hub, entity, writer } = setup({ key: "t", kind: "sensor", throttle: 60 });
  writer.write(entity, "1");
  writer.write(entity, "2");
  writer.markUnavailable(entity);
  expect(hub.states.get(entity.entityId)?.state).toBe("unavailable");
  writer.clear();
});

test("the value a user sees goes with the state written: a throttled reading shows once it is written, and unavailable shows null", () => {
  const { clock, entity, writer } = setup({ key: "t", kind: "sensor", throttle: 0.1, precision: 1 });
  expect(writer.valueOf(entity)).toBeNull();
  writer.write(entity, "21.54");
  writer.write(entity, "22");
  expect(writer.valueOf(entity)).toBe(21.5);
  clock.advance(100);
  expect(writer.valueOf(entity)).toBe(22);
  writer.markUnavailable(entity);
  expect(writer.valueOf(entity)).toBeNull();
});
