import type { Hub } from "./hub.ts";

/**
 * The exit code of a restart asked for over MQTT (`bridge/request/restart`): 75, EX_TEMPFAIL in
 * sysexits.h ("temporary failure, the user is invited to retry"). Any code but 0 makes systemd's
 * `Restart=on-failure` (deploy/hearth.service) start hearth again after RestartSec; 75 tells a restart
 * apart from a failure (1) in the journal.
 */
export const RESTART_EXIT_CODE = 75;

/**
 * Runs the hub's staged shutdown, then exits with RESTART_EXIT_CODE (clean or not: the restart is what was
 * asked for, and the shutdown logged what it abandoned). Says in the log who is to start hearth again:
 * systemd (it sets INVOCATION_ID for the processes of a unit), or a supervisor there may not be.
 */
export async function restartProcess(hub: Hub, exit: (code: number) => void, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (env.INVOCATION_ID !== undefined)
    hub.log.info({ exitCode: RESTART_EXIT_CODE }, `Restart asked for: shutting down, then exiting with code ${RESTART_EXIT_CODE} for systemd to start hearth again (Restart=on-failure)`);
  else
    hub.log.warn(
      { exitCode: RESTART_EXIT_CODE },
      `Restart asked for: shutting down, then exiting with code ${RESTART_EXIT_CODE} for its supervisor to start hearth again; not run by systemd (npm start, a shell), nothing may do so`,
    );
  try {
    await hub.stop();
  } catch (err) {
    hub.log.fatal({ err }, "Shutdown failed");
  }
  exit(RESTART_EXIT_CODE);
}

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
