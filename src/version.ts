import pkg from "../package.json" with { type: "json" };

/** hearth's version, from package.json (built into a compiled binary). */
export const VERSION: string = pkg.version;
