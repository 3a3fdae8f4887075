import { within } from "./wait.ts";

/** Seconds each shutdown stage may take before what is left is abandoned and named in the log. */
export interface StageTimeouts {
  /** Shutdown jobs (`hub.addShutdownJob`). */
  shutdownJobs: number;
  /** Background and cancelOnShutdown tasks, after their signals fired. */
  cancel: number;
  /** Tracked tasks still running. */
  tracked: number;
  /** Final writes (listeners of hub_final_write). */
  finalWrite: number;
  /** Closing links and terminating Workers (listeners of hub_close, the executor). */
  close: number;
}

/** Stage timeouts of Home Assistant's stop sequence, scaled for a small board. */
export const DEFAULT_STAGE_TIMEOUTS: StageTimeouts = {
  shutdownJobs: 30,
  cancel: 10,
  tracked: 30,
  finalWrite: 30,
  close: 30,
};

/** What a stop did: `clean` when nothing had to be abandoned. */
export interface StopResult {
  clean: boolean;
  /** "stage: name" of each job or task left behind. */
  abandoned: string[];
}

/** Waits for every promise, or `ms`; resolves with the indexes of those still pending then. */
export function settleWithin(promises: ReadonlyArray<PromiseLike<unknown>>, ms: number): Promise<number[]> {
  if (promises.length === 0) return Promise.resolve([]);
  const done = new Array<boolean>(promises.length).fill(false);
  const all = Promise.allSettled(
    promises.map((p, i) =>
      Promise.resolve(p).finally(() => {
        done[i] = true;
      }),
    ),
  );
  return within(all, ms).then((settled) => (settled ? [] : done.flatMap((d, i) => (d ? [] : [i]))));
}
