/**
 * What hearth needs to know about running inside a `bun build --compile` binary: the bundled entry
 * points live under an embedded root, and every module bundled into one entry shares that entry's
 * `import.meta.url` (so a module URL no longer names a module).
 */

/** Where a compiled binary keeps its entry points, each stored as `.js` under the build's root (src/). */
export const EMBEDDED_ROOT = "/$bunfs/root/";

/** Whether a module URL (`import.meta.url`) is one of a compiled binary's. */
export function isEmbeddedUrl(url: string): boolean {
  return url.startsWith(`file://${EMBEDDED_ROOT}`) || url.startsWith(EMBEDDED_ROOT);
}
