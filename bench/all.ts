// `npm run bench`: every benchmark in turn, each in its own process (so one's memory or a missed
// target does not affect the next), each rewriting its own section of BENCHMARKS.md. `--no-write` goes
// to every benchmark; for a bench's own options run it alone (`npx tsx bench/presign.ts --runs 50`).
// Exits 1 when any benchmark failed or missed a target.
//
//   npm run bench
//   npm run bench -- --no-write

import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";

const BENCHES = ["bench/presign.ts", "bench/client-throughput.ts", "bench/client-memory.ts", "bench/client-bundle.ts", "bench/browser-throughput.ts"];

const { values } = parseArgs({ options: { "no-write": { type: "boolean", default: false } } });
const failed: string[] = [];
for (const bench of BENCHES) {
  console.log(`\n== ${bench}`);
  const { status, signal } = spawnSync(process.execPath, ["--import", "tsx", bench, ...(values["no-write"] ? ["--no-write"] : [])], { stdio: "inherit" });
  if (status !== 0) failed.push(`${bench} (${signal ?? `exit ${status}`})`);
}
console.log(failed.length ? `\nbench: missed or failed: ${failed.join(", ")}` : `\nbench: all ${BENCHES.length} met their targets`);
process.exit(failed.length ? 1 : 0);
