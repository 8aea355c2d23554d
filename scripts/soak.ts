// `npm run soak` (issue 6 "Faults and crashes"): many uploads through the real parts (the Node
// client, the functions in workerd, cos-local on disk) while things fail, then a client crash loop.
//
//   Soak: uploads of mixed sizes (0 B up to --max-mib, a few single PUTs, most multipart), several
//   at a time. cos-local fails ~--part-fault-rate of the PUTs that carry bytes (connection reset
//   mid-body, 500, 503 SlowDown, a delay, an expired URL), and a small proxy in front of the
//   functions fails ~--api-fault-rate of the client's API calls: a 503, a connection reset before
//   the call reaches the functions, or the call handled and its answer lost (the honest way to fail
//   a function call: the client sees what a flaky network or edge would show it). Every upload must
//   finish with the SHA-256 and CRC64 of its file; afterwards cos-local lists no unfinished upload
//   but the one left on purpose and those whose create answer the proxy threw away (the client
//   cannot know them; the sweeper's job), which are then aborted.
//
//   Crash loop: a child process uploads a --crash-mib file with a file Store and is SIGKILLed at
//   --kills points (after a random number of further parts each time), restarted each time, and
//   must finish with identical bytes, no part accepted twice, and no more part requests than the
//   parts plus those in flight at each kill (cos-local's counters).
//
//   Hostile input: the functions' fuzz (test/workerd/fuzz.test.ts) at --fuzz-runs requests, with the
//   abuse and rate-limit suites, in workerd (vitest's workerd project).
//
// Writes RELIABILITY.md's "faults" and "hostile" sections (bench/report.ts writeSection) unless --no-write;
// `--only faults` or `--only hostile` runs one half.
// The smaller version runs in npm test: test/node/soak.test.ts.

import { spawn } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { finished } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Crc64 } from "../client/crc64";
import { createUploader } from "../client/node";
import { seeded as prng } from "../emulator/faults";
import { machine, writeSection } from "../bench/report";
import { MiB, startClientHarness, type ClientHarness } from "../test/node/client-harness";

const ROOT = resolve(fileURLToPath(import.meta.url), "../..");
const CHILD = join(ROOT, "test/node/fixtures/client-crash-child.ts");

/** Writes `size` random bytes (1 MiB at a time) and returns their SHA-256 and CRC64 (COS's decimal). */
async function writeFile(path: string, size: number): Promise<{ sha256: string; crc64: string }> {
  const sha = createHash("sha256");
  const crc = new Crc64();
  const out = createWriteStream(path);
  const chunk = Buffer.alloc(Math.max(1, Math.min(size, MiB)));
  for (let written = 0; written < size; ) {
    const piece = randomFillSync(chunk, 0, Math.min(chunk.length, size - written)).subarray(0, Math.min(chunk.length, size - written));
    sha.update(piece);
    crc.update(piece);
    written += piece.length;
    if (!out.write(Buffer.from(piece))) await once(out, "drain");
  }
  out.end();
  await finished(out);
  return { sha256: sha.digest("hex"), crc64: crc.toString() };
}

// ---------------------------------------------------------------------------------------------
// The proxy in front of the functions

export interface ProxyStats {
  calls: number;
  failed503: number;
  resetBefore: number;
  lostAnswer: number;
  /** Multipart uploads created by a call whose answer was lost: the client never learns of them. */
  lostCreates: { uploadId: string; token: string; key: string }[];
}

/** A 127.0.0.1 proxy that forwards to `target` and fails `rate` of the calls (seeded). */
async function startFaultyProxy(target: string, rate: number, seed: number): Promise<{ url: string; stats: ProxyStats; close(): Promise<void> }> {
  const random = prng(seed);
  const stats: ProxyStats = { calls: 0, failed503: 0, resetBefore: 0, lostAnswer: 0, lostCreates: [] };
  const upstream = new URL(target);
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    stats.calls += 1;
    const fail = random() < rate ? (["503", "reset", "lost"] as const)[Math.floor(random() * 3)] : undefined;
    if (fail === "503") {
      stats.failed503 += 1;
      req.resume();
      res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: "ServiceUnavailable", message: "soak proxy: injected 503" } }));
      return;
    }
    if (fail === "reset") {
      stats.resetBefore += 1;
      req.socket.destroy();
      return;
    }
    // Uncompressed answers, so a lost create's JSON can be read.
    const headers = { ...req.headers, "accept-encoding": "identity" };
    const forward = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (answer) => {
      if (fail !== "lost") {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        return;
      }
      // Handled upstream, answer thrown away: read it (to learn what a lost create made), then cut.
      stats.lostAnswer += 1;
      const chunks: Buffer[] = [];
      answer.on("data", (c: Buffer) => chunks.push(c));
      answer.on("end", () => {
        if (req.method === "POST" && req.url === "/v1/uploads" && answer.statusCode === 200) {
          const plan = JSON.parse(Buffer.concat(chunks).toString("utf8"));
          if (plan.kind === "multipart") stats.lostCreates.push({ uploadId: plan.uploadId, token: plan.token, key: plan.key });
        }
        req.socket.destroy();
      });
    });
    forward.on("error", () => req.socket.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stats,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// The soak

export interface SoakOptions {
  uploads: number;
  /** Largest upload, MiB (one upload is exactly this size, one is 0 B). */
  maxMiB: number;
  partMiB: number;
  /** Uploads running at once. */
  concurrency: number;
  partFaultRate: number;
  apiFaultRate: number;
  seed: number;
  /** Progress lines on stderr. */
  log?: (line: string) => void;
}

export interface SoakResult {
  uploads: number;
  singles: number;
  multipart: number;
  bytes: number;
  largest: number;
  seconds: number;
  /** PUTs carrying bytes (PutObject + UploadPart requests) and the faults cos-local injected in them. */
  bytePuts: number;
  cosFaults: number;
  proxy: Omit<ProxyStats, "lostCreates"> & { lostCreates: number };
  /** Parts cos-local accepted more than once (an answer lost in a reset after the body arrived). */
  partsAcceptedTwice: number;
  /** Unfinished uploads listed after the soak, and those expected (left on purpose + lost creates). */
  orphansListed: number;
  orphansExpected: number;
  /** Unexpected orphans (must be 0) and mismatched uploads (must be 0). */
  unexpectedOrphans: string[];
  failures: string[];
}

/** Sizes: one 0 B, one `max`, a few more singles, the rest multipart spread toward the small end. */
function planSizes(options: SoakOptions, random: () => number, singleLimit: number): number[] {
  const max = Math.round(options.maxMiB * MiB);
  const sizes = [0, max];
  while (sizes.length < options.uploads) {
    const r = random();
    // ~15 % single PUTs (1 B up to the threshold), ~85 % multipart (skewed small: r³ of the range).
    sizes.push(r < 0.15 ? 1 + Math.floor(random() * singleLimit) : singleLimit + 1 + Math.floor(random() ** 3 * (max - singleLimit - 1)));
  }
  return sizes.slice(0, options.uploads);
}

const SUB = "soak";

export async function runSoak(options: SoakOptions, harness: ClientHarness, dir: string): Promise<SoakResult> {
  const log = options.log ?? (() => {});
  const random = prng(options.seed);
  const partSize = options.partMiB * MiB;
  const proxy = await startFaultyProxy(harness.endpoint, options.apiFaultRate, options.seed + 1);
  harness.resetCounters();
  // The PUTs that carry bytes: each kind fires on ~rate/5 of them (a miss lets the next kind draw).
  const each = options.partFaultRate / 5;
  const put = { method: "PUT", probability: each, count: 1_000_000 };
  harness.fault(
    { kind: "reset", afterBytes: 64 * 1024, seed: options.seed + 11, ...put },
    { kind: "500", seed: options.seed + 12, ...put },
    { kind: "503", seed: options.seed + 13, ...put },
    { kind: "delay", delayMs: 1500, seed: options.seed + 14, ...put },
    { kind: "expired", seed: options.seed + 15, ...put },
  );
  const uploader = createUploader({
    endpoint: proxy.url,
    getToken: harness.getToken(SUB),
    partSize,
    sliceSize: partSize,
    chunkParallelLimit: 4,
    retry: { attempts: 8, baseDelay: 50, maxDelay: 1000 },
  });
  const sizes = planSizes(options, random, Number(harness.vars.SINGLE_PUT_THRESHOLD));
  const failures: string[] = [];
  let bytes = 0;
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < sizes.length) {
      const i = next++;
      const size = sizes[i];
      const path = join(dir, `soak-${i}.bin`);
      const key = `users/${SUB}/soak/${i}-${size}.bin`;
      try {
        const expected = await writeFile(path, size);
        const result = await uploader.upload({ key, body: { path } }).done;
        const sha = await harness.readBackSha256(key, SUB);
        if (result.size !== size) failures.push(`${key}: size ${result.size}, expected ${size}`);
        if (result.crc64 !== expected.crc64) failures.push(`${key}: CRC64 ${result.crc64}, expected ${expected.crc64}`);
        if (sha !== expected.sha256) failures.push(`${key}: SHA-256 of the bytes read back differs`);
        bytes += size;
      } catch (error) {
        failures.push(`${key}: ${(error as Error).name}: ${(error as Error).message}`);
      } finally {
        await rm(path, { force: true });
      }
      log(`soak ${i + 1}/${sizes.length} ${(size / MiB).toFixed(1)} MiB`);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  harness.clearFaults();

  // One upload left unfinished on purpose: it must be listed, and nothing else but lost creates.
  const left = await harness.api("POST", "/v1/uploads", { key: `users/${SUB}/soak/left-on-purpose.bin`, size: 3 * partSize, contentType: "application/octet-stream" }, SUB);
  if (left.status !== 200) failures.push(`creating the upload left on purpose answered ${left.status}`);
  const expected = new Set([left.json?.uploadId, ...proxy.stats.lostCreates.map((u) => u.uploadId)]);
  const listed = await harness.listUploads(SUB);
  const unexpectedOrphans = listed.filter((u) => !expected.has(u.uploadId)).map((u) => `${u.key} ${u.uploadId}`);
  const missing = [...expected].filter((id) => !listed.some((u) => u.uploadId === id));
  if (missing.length) failures.push(`expected unfinished uploads not listed: ${missing.join(", ")}`);
  // Clean up what the client could not know about, as the app (or the sweeper) would.
  for (const u of [...proxy.stats.lostCreates, { uploadId: left.json?.uploadId, token: left.json?.token }]) {
    const aborted = await harness.api("DELETE", `/v1/uploads/${encodeURIComponent(u.uploadId)}`, undefined, SUB, { "upload-token": u.token });
    if (aborted.status !== 204) failures.push(`abort of ${u.uploadId} answered ${aborted.status}`);
  }
  if ((await harness.listUploads(SUB)).length !== 0) failures.push("unfinished uploads remain after the cleanup");

  const counters = harness.counters();
  await proxy.close();
  const single = Number(harness.vars.SINGLE_PUT_THRESHOLD);
  return {
    uploads: sizes.length,
    singles: sizes.filter((s) => s <= single).length,
    multipart: sizes.filter((s) => s > single).length,
    bytes,
    largest: Math.max(...sizes),
    seconds,
    bytePuts: (counters.operations.PutObject ?? 0) + (counters.operations.UploadPart ?? 0),
    cosFaults: counters.faults,
    proxy: { ...proxy.stats, lostCreates: proxy.stats.lostCreates.length },
    partsAcceptedTwice: Object.values(counters.parts).reduce((n, parts) => n + Object.values(parts).filter((t) => t > 1).length, 0),
    orphansListed: listed.length,
    orphansExpected: expected.size,
    unexpectedOrphans,
    failures,
  };
}

// ---------------------------------------------------------------------------------------------
// The client crash loop

export interface CrashLoopOptions {
  sizeMiB: number;
  partMiB: number;
  kills: number;
  parallel: number;
  seed: number;
  log?: (line: string) => void;
}

export interface CrashLoopResult {
  size: number;
  parts: number;
  kills: number;
  runs: number;
  seconds: number;
  /** Part requests cos-local received (bodies begun), beyond one per part. */
  extraPartRequests: number;
  /** Parts in flight (begun, not accepted) when each kill came, summed: the allowed extra. */
  inFlightAtKills: number;
  maxInFlightAtKill: number;
  /** Kills that came after a random number of further parts; the rest came at a random moment early in a run (loading, resuming, the last part, Complete). */
  killsAfterParts: number;
  /** Parts accepted more than once (must be 0: a resumed run asks COS what it holds). */
  partsAcceptedTwice: number;
  sameBytes: boolean;
  failures: string[];
}

export async function runCrashLoop(options: CrashLoopOptions, harness: ClientHarness, dir: string): Promise<CrashLoopResult> {
  const log = options.log ?? (() => {});
  const random = prng(options.seed + 100);
  const size = Math.round(options.sizeMiB * MiB);
  const partSize = options.partMiB * MiB;
  const parts = Math.ceil(size / partSize);
  const path = join(dir, "crash.bin");
  const expected = await writeFile(path, size);
  const key = `users/${SUB}/crash/crash-${size}.bin`;
  const args = { endpoint: harness.endpoint, token: await harness.token(SUB, 7200), path, key, storePath: join(dir, "crash-store", "checkpoints.json"), partSize, chunkParallelLimit: options.parallel };
  harness.clearFaults();
  harness.resetCounters();
  const failures: string[] = [];
  const begun = () => harness.counters().operations.UploadPart ?? 0;
  const accepted = () => Object.values(harness.counters().parts).reduce((n, p) => n + Object.values(p).reduce((a, b) => a + b, 0), 0);
  const inFlight: number[] = [];
  const started = performance.now();
  let runs = 0;
  let killsAfterParts = 0;
  let result = "";
  for (let kill = 0; kill <= options.kills; kill++) {
    const last = kill === options.kills;
    const before = { begun: begun(), accepted: accepted() };
    // While there are parts enough, a kill comes after a random number of further parts (spread so
    // the kills left still fit); after that, a random 0-100 ms after the run prints its first line.
    // Each kill also lets the bodies already sent land, so a run moves on by a few parts more.
    const remaining = parts - 1 - before.accepted;
    const killsLeft = options.kills - kill;
    const byParts = remaining > 3 * killsLeft;
    const target = before.accepted + 1 + Math.floor(random() * Math.max(1, Math.floor(remaining / killsLeft) - 3));
    const delayMs = Math.floor(random() * 100);
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, JSON.stringify(args)], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    runs += 1;
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    const exit = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
    if (last) {
      const code = await exit;
      result = out.split("\n").find((l) => l.startsWith("result ")) ?? "";
      if (code !== 0) failures.push(`the last run exited ${code}: ${out.slice(-2000)}`);
      break;
    }
    // Kill once `target` parts are in COS (or at once, if the run got there before polling).
    let exited = false;
    void exit.then(() => (exited = true));
    if (byParts) {
      killsAfterParts += 1;
      while (!exited && accepted() < target) await new Promise((r) => setTimeout(r, 2));
    } else {
      while (!exited && out === "") await new Promise((r) => setTimeout(r, 2));
      await new Promise((r) => setTimeout(r, delayMs));
    }
    if (exited) {
      failures.push(`run ${runs} ended before its kill (target ${target} parts): ${out.slice(-1000)}`);
      break;
    }
    child.kill("SIGKILL");
    await exit;
    // cos-local may still be finishing a body the child sent before it died: wait until it settles.
    for (let seen = `${begun()} ${accepted()}`, quiet = 0; quiet < 3; ) {
      await new Promise((r) => setTimeout(r, 50));
      const now = `${begun()} ${accepted()}`;
      quiet = now === seen ? quiet + 1 : 0;
      seen = now;
    }
    // What this run began and COS never accepted: the parts in flight when it died.
    const flying = begun() - before.begun - (accepted() - before.accepted);
    inFlight.push(flying);
    log(`crash ${kill + 1}/${options.kills}: killed with ${accepted()}/${parts} parts in COS, ${flying} in flight (${byParts ? `after part ${target}` : `${delayMs} ms into the run`})`);
  }
  const seconds = (performance.now() - started) / 1000;
  const counters = harness.counters();
  const acceptedTwice = Object.values(counters.parts).reduce((n, p) => n + Object.values(p).filter((t) => t > 1).length, 0);
  const uploadIds = Object.keys(counters.parts);
  if (uploadIds.length !== 1) failures.push(`${uploadIds.length} multipart uploads were used, expected 1 (resumed each time)`);
  const sameBytes = result !== "" && (await harness.readBackSha256(key, SUB)) === expected.sha256;
  if (!sameBytes) failures.push("the object read back differs from the file (or the upload did not finish)");
  if (result && JSON.parse(result.slice("result ".length)).crc64 !== expected.crc64) failures.push("CRC64 differs");
  const extra = (counters.operations.UploadPart ?? 0) - parts;
  const allowed = inFlight.reduce((a, b) => a + b, 0);
  if (extra > allowed) failures.push(`${extra} part requests beyond one per part, but only ${allowed} were in flight at the kills`);
  if (acceptedTwice > 0) failures.push(`${acceptedTwice} parts were accepted twice`);
  if ((await harness.listUploads(SUB)).length !== 0) failures.push("an unfinished upload is left after the crash loop");
  await rm(path, { force: true });
  return { size, parts, kills: inFlight.length, runs, seconds, extraPartRequests: extra, inFlightAtKills: allowed, maxInFlightAtKill: Math.max(0, ...inFlight), killsAfterParts, partsAcceptedTwice: acceptedTwice, sameBytes, failures };
}

// ---------------------------------------------------------------------------------------------
// The report and the command line

const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;

export function reportMarkdown(command: string, soak: SoakResult, crash: CrashLoopResult): string {
  const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)} %` : "-");
  const p = soak.proxy;
  return `## Faults and crashes

Measured ${new Date().toISOString().slice(0, 10)} with \`${command}\` (${machine()}): the Node client,
the functions in workerd (wrangler unstable_startWorker) and cos-local on disk, all on 127.0.0.1.
Function-call failures come from a proxy in front of the functions (a 503, a reset before the call,
or the call handled and its answer lost); byte-PUT failures from cos-local's seeded faults.

### Soak

| Figure | Value |
|---|---|
| Uploads | ${soak.uploads} (${soak.singles} single PUT, ${soak.multipart} multipart), 0 B to ${mib(soak.largest)} |
| Bytes uploaded and verified | ${mib(soak.bytes)} |
| Duration | ${soak.seconds.toFixed(1)} s |
| PUTs carrying bytes / faults injected by cos-local | ${soak.bytePuts} / ${soak.cosFaults} (${pct(soak.cosFaults, soak.bytePuts)}: resets mid-body, 500, 503 SlowDown, 1.5 s delays, expired URLs) |
| API calls / failed by the proxy | ${p.calls} / ${p.failed503 + p.resetBefore + p.lostAnswer} (${pct(p.failed503 + p.resetBefore + p.lostAnswer, p.calls)}: ${p.failed503} × 503, ${p.resetBefore} resets, ${p.lostAnswer} lost answers) |
| Uploads with wrong bytes (SHA-256 read back, CRC64) or failed | ${soak.failures.length} |
| Parts accepted twice (answer lost after the body arrived) | ${soak.partsAcceptedTwice} |
| Unfinished uploads listed afterwards | ${soak.orphansListed}: the one left on purpose + ${p.lostCreates} created by calls whose answer was lost (expected; aborted afterwards); unexpected: ${soak.unexpectedOrphans.length} |

### Client crash loop

| Figure | Value |
|---|---|
| File | ${mib(crash.size)}, ${crash.parts} parts |
| SIGKILLs / runs | ${crash.kills} / ${crash.runs} (${crash.killsAfterParts} after a random number of further parts, ${crash.kills - crash.killsAfterParts} at a random 0-100 ms after a run's first output line) |
| Duration | ${crash.seconds.toFixed(1)} s |
| Identical bytes (SHA-256 read back, CRC64) | ${crash.sameBytes && crash.failures.length === 0 ? "yes" : "NO"} |
| Part requests beyond one per part (re-sent) | ${crash.extraPartRequests} |
| Part requests cut by the kills (begun, never accepted; summed, most at one kill) | ${crash.inFlightAtKills} (${crash.maxInFlightAtKill}) |
| Parts accepted twice | ${crash.partsAcceptedTwice} |

cos-local crashes (SIGKILL during part uploads and during Complete, restart on the same data
directory) and lost Complete/abort answers are covered by \`npm test\`:
test/node/cos-local-crash.test.ts and test/node/reliability-lost-responses.test.ts.
`;
}

interface HostileResult {
  /** The fuzz test's own summary line (requests, statuses, slowest answer). */
  fuzz: string;
  /** Passed / failed tests per suite file. */
  suites: Record<string, { passed: number; failed: number }>;
  seconds: number;
}

/** Runs the fuzz at `fuzzRuns` requests plus the abuse and rate-limit suites in workerd (vitest). */
async function runHostile(fuzzRuns: number, log: (line: string) => void): Promise<HostileResult> {
  const files = ["test/workerd/fuzz.test.ts", "test/workerd/abuse.test.ts", "test/workerd/ratelimit.test.ts"];
  const report = join(tmpdir(), `cos-direct-soak-hostile-${process.pid}.json`);
  const started = performance.now();
  log(`hostile input: fuzz ${fuzzRuns} requests, abuse and rate-limit suites (vitest, workerd)`);
  const child = spawn(process.execPath, [join(ROOT, "node_modules/vitest/vitest.mjs"), "run", "--project", "workerd", ...files, "--reporter=default", "--reporter=json", `--outputFile.json=${report}`], {
    cwd: ROOT,
    env: { ...process.env, FUZZ_RUNS: String(fuzzRuns) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
  await once(child, "exit");
  const json = JSON.parse(await readFile(report, "utf8")) as { testResults: { name: string; assertionResults: { status: string }[] }[] };
  await rm(report, { force: true });
  const suites: HostileResult["suites"] = {};
  for (const file of json.testResults) {
    const name = file.name.slice(ROOT.length + 1);
    suites[name] = { passed: file.assertionResults.filter((a) => a.status === "passed").length, failed: file.assertionResults.filter((a) => a.status !== "passed").length };
  }
  const fuzz = /fuzz: .*/.exec(out)?.[0] ?? "fuzz: no summary line (the fuzz test failed before it)";
  return { fuzz, suites, seconds: (performance.now() - started) / 1000 };
}

function hostileMarkdown(command: string, result: HostileResult): string {
  const rows = Object.entries(result.suites).map(([file, r]) => `| ${file} | ${r.passed} | ${r.failed} |`);
  return `## Hostile input

Measured ${new Date().toISOString().slice(0, 10)} with \`${command}\` (${machine()}): the functions in workerd (vitest's workerd project), cos-local behind them. ${result.seconds.toFixed(0)} s.

Fuzz (fast-check over every route's body, query, headers and path; every answer must be below 500, JSON with an error code when an error, within 1 s, and no answer or log line may contain a secret):
\`${result.fuzz}\`

| suite | passed | failed |
|---|---|---|
${rows.join("\n")}

\`npm test\` runs the same suites with 1,000 fuzz requests.`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      uploads: { type: "string", default: "200" },
      "max-mib": { type: "string", default: "200" },
      "part-mib": { type: "string", default: "8" },
      concurrency: { type: "string", default: "4" },
      "part-fault-rate": { type: "string", default: "0.1" },
      "api-fault-rate": { type: "string", default: "0.02" },
      "crash-mib": { type: "string", default: "500" },
      kills: { type: "string", default: "20" },
      seed: { type: "string", default: "1" },
      "fuzz-runs": { type: "string", default: "20000" },
      /** faults (the soak and the crash loop) or hostile (the fuzz and the suites); default both. */
      only: { type: "string" },
      "no-write": { type: "boolean", default: false },
    },
  });
  const num = (name: string) => {
    const given = values[name as keyof typeof values];
    const n = Number(given);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got ${given}`);
    return n;
  };
  const partMiB = num("part-mib");
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const only = values.only;
  if (only !== undefined && only !== "faults" && only !== "hostile") throw new Error(`--only must be faults or hostile, got ${only}`);
  const command = ["npm run soak", ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : [])].join(" ");
  let ok = true;
  if (only !== "hostile") ok = await soakAndCrash(values, num, partMiB, log, command);
  if (only !== "faults") {
    const hostile = await runHostile(num("fuzz-runs"), log);
    const hostileOk = Object.keys(hostile.suites).length === 3 && Object.values(hostile.suites).every((r) => r.failed === 0 && r.passed > 0);
    console.log(hostileMarkdown(command, hostile));
    if (!hostileOk) console.error("FAIL hostile input: a suite failed (see above)");
    if (!values["no-write"] && hostileOk) writeSection(resolve(ROOT, "RELIABILITY.md"), "hostile", hostileMarkdown(command, hostile), "# Reliability\n");
    ok &&= hostileOk;
  }
  process.exitCode = ok ? 0 : 1;
}

/** The soak and the crash loop (RELIABILITY.md's "faults" section); true when everything held. */
async function soakAndCrash(values: { "no-write"?: boolean }, n: (name: string) => number, partMiB: number, log: (line: string) => void, command: string): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), "cos-direct-soak-"));
  // One subject makes every call: the rate limits are off, as the brief of the soak allows.
  const harness = await startClientHarness({ vars: { PART_SIZE: String(partMiB * MiB), SINGLE_PUT_THRESHOLD: String(partMiB * MiB), RATE_LIMIT: "off" } });
  try {
    const seed = n("seed");
    const soak = await runSoak({ uploads: n("uploads"), maxMiB: n("max-mib"), partMiB, concurrency: n("concurrency"), partFaultRate: n("part-fault-rate"), apiFaultRate: n("api-fault-rate"), seed, log }, harness, dir);
    const crash = await runCrashLoop({ sizeMiB: n("crash-mib"), partMiB, kills: n("kills"), parallel: 4, seed, log }, harness, dir);
    const markdown = reportMarkdown(command, soak, crash);
    console.log(markdown);
    for (const f of [...soak.failures, ...soak.unexpectedOrphans.map((o) => `unexpected orphan ${o}`), ...crash.failures]) console.error(`FAIL ${f}`);
    const ok = soak.failures.length === 0 && soak.unexpectedOrphans.length === 0 && crash.failures.length === 0;
    if (!values["no-write"] && ok) writeSection(resolve(ROOT, "RELIABILITY.md"), "faults", markdown, "# Reliability\n");
    return ok;
  } finally {
    await harness.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: Error) => {
    console.error(`soak: ${error.stack ?? error.message}`);
    process.exit(1);
  });
}
