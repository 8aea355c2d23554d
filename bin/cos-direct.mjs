#!/usr/bin/env node
// `npx cos-direct` (issue 4 "Node CLI"): runs client/cli.ts in this process through tsx's ESM loader
// (a devDependency), so a fresh clone needs only `npm install`, no build. Signals reach the CLI directly.
import { register } from "tsx/esm/api";

register();
const { run } = await import("../client/cli.ts");
await run();
