import { expect, test } from "bun:test";
import { Context } from "../../src/core/context.ts";
import { Event } from "../../src/core/event.ts";

test("every context gets its own id", () => {
  const ids = new Set(Array.from({ length: 1000 }, () => new Context().id));
  expect(ids.size).toBe(1000);
});

test("a child context points at its parent and keeps its user and origin", () => {
  const command = new Context({ userId: "node-red", origin: "mqtt" });
  const child = command.child();
  expect(child.parentId).toBe(command.id);
  expect(child.userId).toBe("node-red");
  expect(child.origin).toBe("mqtt");
  expect(command.child({ origin: "device" }).origin).toBe("device");
});

test("an event without a context gets a fresh one, and serialises as Home Assistant's does", () => {
  const event = new Event("relay_switched", { relay: 1 }, "local", undefined, Date.UTC(2026, 0, 2, 3, 4, 5));
  expect(event.context).toBe(event.context);
  expect(event.toJSON()).toEqual({
    event_type: "relay_switched",
    data: { relay: 1 },
    origin: "local",
    time_fired: "2026-01-02T03:04:05.000Z",
    context: { id: event.context.id, parent_id: null, user_id: null, origin: null },
  });
});
