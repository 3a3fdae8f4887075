/** Resolves once `condition` holds, polling; fails saying `what` after `ms` (a deadline, not a sleep a slow machine could outrun). */
export async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await Bun.sleep(10);
  }
}
