// Client memory (issue 4 "Benchmarks"): peak RSS of a Node process that uploads a 2 GiB file with
// the client (createUploader, `{ path }` body, default part size and concurrency). The uploader is
// test/node/fixtures/client-crash-child.ts bundled by esbuild and run with plain `node`, so the
// figure is the client's and Node's, not tsx's; cos-local and the functions (workerd) run in this
// process and in workerd's. VmRSS of the child is sampled every 20 ms. Target ≤ 150 MB.
// Writes its section of BENCHMARKS.md; exits 1 when the target is missed or the upload fails.
//
//   npx tsx bench/client-memory.ts [--mib 2048] [--no-write]

import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { MiB, startClientHarness, writeRandomFile } from "../test/node/client-harness";
import { machine, rssBytes, writeSection } from "./report";

const { values } = parseArgs({ options: { mib: { type: "string", default: "2048" }, "no-write": { type: "boolean", default: false } } });
const SIZE = Number(values.mib) * MiB;
const TARGET = 150e6;
const MB = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

const root = await mkdtemp(join(tmpdir(), "bench-client-memory-"));
// The functions' defaults (8 MiB parts and single-PUT threshold), as a deployment would have them.
const h = await startClientHarness({ vars: { PART_SIZE: String(8 * MiB), SINGLE_PUT_THRESHOLD: String(8 * MiB) } });
let met = false;
try {
  const path = join(root, "2gib.bin");
  const digest = await writeRandomFile(path, SIZE);
  const child = join(root, "upload-child.mjs");
  await build({ entryPoints: ["test/node/fixtures/client-crash-child.ts"], bundle: true, platform: "node", format: "esm", target: "node20", outfile: child, logLevel: "error" });

  const key = "users/alice/bench/2gib.bin";
  const args = { endpoint: h.endpoint, token: await h.token("alice", 7200), path, key };
  const started = Date.now();
  const proc = spawn(process.execPath, [child, JSON.stringify(args)], { stdio: ["ignore", "pipe", "inherit"] });
  let out = ""; // the tail only: progress lines are many, the result line comes last
  proc.stdout!.on("data", (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-4096);
  });
  let peak = 0;
  let idle = 0;
  const sampler = setInterval(() => void rssBytes(proc.pid!).then((rss) => {
    idle ||= rss;
    peak = Math.max(peak, rss);
  }, () => undefined), 20);
  const code = await new Promise<number | null>((done) => proc.once("exit", done));
  clearInterval(sampler);
  const seconds = (Date.now() - started) / 1000;
  const result = /result (\{.*\})/.exec(out)?.[1];
  if (code !== 0 || !result) throw new Error(`the upload failed (exit ${code}): ${out.split("\n").filter((l) => l.startsWith("error")).join(" ")}`);
  if (JSON.parse(result).size !== SIZE || (await h.readBackSha256(key)) !== digest) throw new Error(`the object differs from the file: ${result}`);
  met = peak <= TARGET;
  console.log(`${SIZE / MiB / 1024} GiB in ${seconds.toFixed(1)} s (${(SIZE / MiB / seconds).toFixed(0)} MiB/s); client RSS at start ${MB(idle)}, peak ${MB(peak)} (target ≤ ${MB(TARGET)}: ${met ? "met" : "MISSED"})`);
  if (!values["no-write"]) {
    writeSection(
      "BENCHMARKS.md",
      "client-memory",
      `## Client memory: a ${SIZE / MiB / 1024} GiB file from Node

Measured by \`npm run bench\` (bench/client-memory.ts) on ${new Date().toISOString().slice(0, 10)}; ${machine()}.
A Node process (the client bundled by esbuild with test/node/fixtures/client-crash-child.ts, run by plain \`node\`) uploads the file from disk with
\`createUploader().upload({ body: { path } })\`, default part size and concurrency, to cos-local through the functions (8 MiB parts planned); its VmRSS is sampled every 20 ms.

| what | figure |
|---|---|
| peak RSS of the uploading process | **${MB(peak)}** |
| first sample (the process starting) | ${MB(idle)} |
| upload time | ${seconds.toFixed(1)} s (${(SIZE / MiB / seconds).toFixed(0)} MiB/s) |

Target ≤ 150 MB: ${met ? "met" : "**missed**"}. The object was read back and its SHA-256 compared with the file's.`,
    );
  }
} finally {
  await h.close();
  await rm(root, { recursive: true, force: true });
}
process.exit(met ? 0 : 1);
