import type { Hub } from "./hub.ts";

/**
 * Makes SIGTERM and SIGINT run the hub's staged shutdown, then exit: 0 when it was clean, 1 when it had
 * to abandon something. A second signal during shutdown exits at once. Returns the function that uninstalls.
 */
export function installSignalHandlers(hub: Hub, exit: (code: number) => void = (code) => process.exit(code)): () => void {
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    received++;
    if (received > 1) {
      hub.log.warn({ signal }, `Received ${signal} again during shutdown; exiting now`);
      exit(signal === "SIGINT" ? 130 : 143);
      return;
    }
    hub.log.info({ signal }, `Received ${signal}; shutting down`);
    hub.stop().then(
      (result) => exit(result.clean ? 0 : 1),
      (err) => {
        hub.log.fatal({ err }, "Shutdown failed");
        exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return () => {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  };
}
