/**
 * Loaded before anything else (first import of src/cli.ts; bunfig.toml's test preload): installs the
 * blocking-call guard while no module has imported node:fs yet, so every later import sees the wrappers.
 */
import { installBlockingCallGuard } from "./core/blocking-calls.ts";

installBlockingCallGuard();
