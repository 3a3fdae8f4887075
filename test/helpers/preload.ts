/** Loaded before every test file (bunfig.toml): what every test gets without asking. */
import { afterEach } from "bun:test";
import { removeTempDirs } from "./temp.ts";

afterEach(removeTempDirs);
