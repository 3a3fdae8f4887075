/**
 * Which job holds the loop right now, in memory a watchdog Worker can read while the loop is blocked.
 * The hub writes a job's id into slot 0 when it runs a callback or a task's first step and restores it
 * afterwards: two stores into a typed array, cheap enough for every event.
 *
 * Layout (Int32 indexes): 0 current job id, 1 job id the watchdog saw during the last block, 2 stop flag.
 * Float64 index 2 (bytes 16–23): epoch ms of the loop's last heartbeat.
 */
export const JOB_SLOT_BUFFER = new SharedArrayBuffer(32);
export const jobSlot = new Int32Array(JOB_SLOT_BUFFER, 0, 4);
export const heartbeat = new Float64Array(JOB_SLOT_BUFFER, 16, 1);

export const SLOT_CURRENT = 0;
export const SLOT_BLOCKED = 1;
export const SLOT_STOP = 2;

const ids = new Map<string, number>();
const names: string[] = ["(no job)"];

/** A small integer for a job name, stable for the life of the process. */
export function jobIdFor(name: string): number {
  let id = ids.get(name);
  if (id === undefined) {
    id = names.length;
    names.push(name);
    ids.set(name, id);
  }
  return id;
}

/** The name behind an id from jobIdFor. */
export function jobNameOf(id: number): string | undefined {
  return id > 0 ? names[id] : undefined;
}
