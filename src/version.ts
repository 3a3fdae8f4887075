import pkg from "../package.json" with { type: "json" };

// Set by deploy/build (`--define HEARTH_BUILD_VERSION=…`) to the version a binary is built as; unset from source.
declare const HEARTH_BUILD_VERSION: string | undefined;

/** hearth's version: the one a binary was built as, else package.json's. */
export const VERSION: string = typeof HEARTH_BUILD_VERSION === "string" ? HEARTH_BUILD_VERSION : pkg.version;
