// What a part's body costs in Chromium (no target; evidence for issue 5's CRC-64 cost). The client
// hashes each part while the browser sends it as a Blob slice, so the file is read twice: once by the
// network stack, once into the page for CRC-64. Sending the bytes the page already read would read it
// once. This measures, with the raw baseline's requests (the functions' presigned part URLs, XHR PUTs,
// nothing else), what each way of giving XHR a part costs:
//   slice         — the Blob slice (the raw baseline; what the client sends);
//   slice+read    — the Blob slice, while the same slice is read into the page with arrayBuffer()
//                   (the client's second read, without the hashing);
//   slice+stream  — the same, the second read through slice.stream() instead;
//   read-then-send — the slice read into the page first, then the slice sent;
//   blob-of-bytes — the slice read into the page, then `new Blob([bytes])` sent;
//   bytes         — the slice read into the page, then the Uint8Array sent.
// The requests are bench/browser-raw.ts's; the harness is bench/browser-throughput.ts's (three origins on 127.0.0.1). Rounds interleaved, the
// order rotated each round; medians. Writes its section of BENCHMARKS.md.
//
//   npx tsx bench/browser-part-bodies.ts [--mb 100] [--part-mib 8] [--concurrency 4] [--rounds 4] [--no-write]

import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startBrowserHarness } from "../test/browser/harness";
import { writeRandomFile } from "../test/node/client-harness";
import { type PartBody, rawUpload } from "./browser-raw";
import { machine, median, writeSection } from "./report";

const { values } = parseArgs({
  options: {
    mb: { type: "string", default: "100" },
    "part-mib": { type: "string", default: "8" },
    concurrency: { type: "string", default: "4" },
    rounds: { type: "string", default: "4" },
    "no-write": { type: "boolean", default: false },
  },
});
const MiB = 1024 * 1024;
const SIZE = Number(values.mb) * 1000 * 1000;
const PART = Number(values["part-mib"]) * MiB;
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Math.max(1, Number(values.rounds));
const WAYS: PartBody[] = ["slice", "slice+read", "slice+stream", "read-then-send", "blob-of-bytes", "bytes"];

const rig = await startBrowserHarness({ client: { vars: { PART_SIZE: String(PART), SINGLE_PUT_THRESHOLD: String(PART), MAX_UPLOAD_BYTES: String(2 * SIZE) } } });
const dir = await mkdtemp(join(tmpdir(), "bench-part-bodies-"));
try {
  const { client } = rig;
  const page = await rig.page();
  page.on("console", (message) => message.type() === "error" && console.error(`page: ${message.text()}`));
  await page.evaluate("globalThis.__name = (f) => f"); // tsx's keepNames helper, for functions sent to the page
  const file = join(dir, "upload.bin");
  await writeRandomFile(file, SIZE);
  await page.evaluate(() => document.body.insertAdjacentHTML("beforeend", `<input type="file" id="bench-file">`));
  await page.setInputFiles("#bench-file", file);
  await page.evaluate(() => ((window as any).benchBlob = (document.getElementById("bench-file") as HTMLInputElement).files![0]));
  const token = await client.token("alice", 7200);
  const run = (body: PartBody) => page.evaluate(rawUpload, { body, endpoint: client.endpoint, token, key: `users/alice/bench/bodies-${body}.bin`, part: PART, concurrency: CONCURRENCY });
  for (const way of WAYS) await run(way); // warm-up
  const seconds = Object.fromEntries(WAYS.map((way) => [way, [] as number[]])) as Record<PartBody, number[]>;
  for (let round = 0; round < ROUNDS; round++) {
    const k = round % WAYS.length;
    for (const way of [...WAYS.slice(k), ...WAYS.slice(0, k)]) {
      const s = await run(way);
      seconds[way].push(s);
      console.log(`round ${round + 1} ${way}: ${s.toFixed(2)} s`);
    }
  }
  const base = median(seconds.slice);
  const rows = WAYS.map((way) => {
    const m = median(seconds[way]);
    return `| ${way} | ${m.toFixed(2)} s | ${(SIZE / MiB / m).toFixed(0)} MiB/s | ${(base / m).toFixed(2)}× | ${seconds[way].map((s) => s.toFixed(2)).join(", ")} |`;
  });
  const table = `| part body | median | throughput | vs slice | runs |\n|---|---|---|---|---|\n${rows.join("\n")}`;
  console.log(table);
  if (!values["no-write"]) {
    writeSection(
      "BENCHMARKS.md",
      "browser-part-bodies",
      `## Browser part bodies: why the client reads each part twice (no target)

Measured by \`npx tsx bench/browser-part-bodies.ts\` (not part of \`npm run bench\`) on ${new Date().toISOString().slice(0, 10)}; ${machine()}; Debian Chromium ${rig.browser.version()} (headless). 1-minute load average ${loadavg()[0].toFixed(1)} when written.
One ${values.mb} MB picked file, ${PART / MiB} MiB parts, ${CONCURRENCY} in flight, the raw baseline's requests; only what XHR is given for each part differs. ${ROUNDS} rounds after a warm-up, interleaved.

${table}

The client hashes each part while the browser sends the Blob slice, so it pays for the \`slice+read\` row plus the CRC-64 itself. That second read alone gives ${(base / median(seconds["slice+read"])).toFixed(2)}× the slice's throughput here (through stream(): ${(base / median(seconds["slice+stream"])).toFixed(2)}×). Sending the bytes the page read instead would read the file once, but as a typed array or wrapped in a new Blob it is far slower in Chromium, and reading a part before sending it serialises the two reads. So the CRC-64 check in the browser costs a second read of the file; on this 2-core host that CPU comes out of cos-local's and the upload's.`,
    );
  }
} finally {
  await rig.close();
  await rm(dir, { recursive: true, force: true });
}
process.exit(0);
