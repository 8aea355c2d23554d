// `npx cos-direct upload` as a user runs it (issue 4 "Node CLI", "What it must show"): bin/cos-direct.mjs
// in a child process against the functions in workerd and cos-local. A 5 MiB file uploads with
// progress lines and the final key; a larger one interrupted with SIGINT (Ctrl-C) exits 130 and,
// run again with --resume, completes the same multipart upload without sending a finished part again
// (cos-local's per-part counters).

import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Display, fitColumns, formatBytes, formatEta, parseSize } from "../../client/cli";
import { MiB, sha256, useClientHarness, writeRandomFile } from "./client-harness";

// CORS_ORIGINS matters only to `cos-direct check` here (the uploads come from Node, with no Origin).
const harness = useClientHarness({ vars: { CORS_ORIGINS: "https://app.example" } });
const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "client-cli-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

interface Run {
  output: () => string;
  signal: (name: NodeJS.Signals) => void;
  exit: Promise<number | null>;
}

function cli(args: string[]): Run {
  const child = spawn(process.execPath, ["bin/cos-direct.mjs", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, COS_DIRECT_TOKEN: "" } });
  let output = "";
  const onData = (chunk: Buffer) => (output += chunk.toString());
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exit = new Promise<number | null>((done) => child.once("close", (code) => done(code)));
  return {
    output: () => output,
    signal: (name) => child.kill(name),
    exit,
  };
}

/** Resolves once `condition` holds (checked every 10 ms); fails if the run ends first. */
function until(condition: () => boolean, run: Run): Promise<void> {
  return new Promise((ok, fail) => {
    const timer = setInterval(() => {
      if (condition()) {
        clearInterval(timer);
        ok();
      }
    }, 10);
    void run.exit.then((code) => {
      clearInterval(timer);
      fail(new Error(`cos-direct exited (${code}) too early:\n${run.output()}`));
    });
  });
}

async function uploadArgs(file: string, state: string, extra: string[] = []) {
  const h = harness();
  return ["upload", file, "--endpoint", h.endpoint, "--token", await h.token("alice"), "--prefix", "users/alice/cli/", "--state", state, ...extra];
}

describe("cos-direct upload", () => {
  it("uploads a 5 MiB file: progress lines, the final key, exit 0, the bytes in COS", async () => {
    const file = join(dir, "five.bin");
    const digest = await writeRandomFile(file, 5 * MiB);
    const run = cli(await uploadArgs(file, join(dir, "state-five.json")));
    const code = await run.exit;
    expect(code, run.output()).toBe(0);
    expect(run.output()).toMatch(/five\.bin +\[[#-]+\] +\d+%/); // a progress line (not a TTY: one per 10 %)
    expect(run.output()).toMatch(/five\.bin +\[#+\] +100%.*done/);
    expect(run.output()).toContain("uploaded " + file + " -> users/alice/cli/five.bin");
    expect(sha256(await harness().readBack("users/alice/cli/five.bin"))).toBe(digest);
  });

  it("Ctrl-C mid-upload exits 130; --resume completes the same upload without re-sending finished parts", async () => {
    const h = harness();
    h.resetCounters();
    const partCount = 24;
    const file = join(dir, "big.bin");
    const digest = await writeRandomFile(file, partCount * MiB);
    const state = join(dir, "state-big.json");
    // Parts 6 and later crawl (~10 KB/s), so the first run is mid-way, with 5 parts in COS, when it is interrupted.
    for (let n = 6; n <= partCount; n++) h.fault({ kind: "slow", operation: "UploadPart", query: `partNumber=${n}`, bitsPerSecond: 81920 });
    const first = cli(await uploadArgs(file, state, ["--part-size", "1M", "--concurrency", "2"]));
    await until(() => Object.values(h.counters().parts).some((parts) => Object.keys(parts).length >= 5), first);
    first.signal("SIGINT");
    expect(await first.exit, first.output()).toBe(130);
    expect(first.output()).toContain("--resume");
    h.clearFaults();

    const uploads = Object.keys(h.counters().parts);
    expect(uploads).toHaveLength(1);
    const [uploadId] = uploads;
    const before = h.counters().parts[uploadId];
    expect(Object.keys(before).length).toBeGreaterThanOrEqual(5);
    expect(Object.keys(before).length).toBeLessThan(partCount);

    const second = cli(await uploadArgs(file, state, ["--part-size", "1M", "--concurrency", "2", "--resume"]));
    expect(await second.exit, second.output()).toBe(0);
    expect(second.output()).toContain("-> users/alice/cli/big.bin");
    const after = h.counters();
    expect(Object.keys(after.parts)).toEqual([uploadId]); // the same multipart upload, continued
    expect(Object.keys(after.parts[uploadId])).toHaveLength(partCount);
    for (const [partNumber, times] of Object.entries(after.parts[uploadId])) expect(times, `part ${partNumber}`).toBe(1);
    expect(after.operations.InitiateMultipartUpload).toBe(1);
    expect(sha256(await h.readBack("users/alice/cli/big.bin"))).toBe(digest);
  });

  it("--resume of a file that changed since the interrupted run uploads it anew, aborts the earlier upload and forgets its checkpoint", async () => {
    const h = harness();
    const file = join(dir, "changed.bin");
    await writeRandomFile(file, 4 * MiB);
    const state = join(dir, "state-changed.json");
    for (let n = 2; n <= 4; n++) h.fault({ kind: "slow", operation: "UploadPart", query: `partNumber=${n}`, bitsPerSecond: 81920 });
    h.resetCounters();
    const first = cli(await uploadArgs(file, state, ["--part-size", "1M", "--concurrency", "1"]));
    await until(() => Object.values(h.counters().parts).some((parts) => Object.keys(parts).length >= 1), first);
    first.signal("SIGINT");
    expect(await first.exit, first.output()).toBe(130);
    h.clearFaults();
    expect((await h.listUploads("alice")).filter((u) => u.key === "users/alice/cli/changed.bin")).toHaveLength(1);
    const digest = await writeRandomFile(file, 4 * MiB + 5); // saved again: another size
    const again = cli(await uploadArgs(file, state, ["--part-size", "1M", "--resume"]));
    expect(await again.exit, again.output()).toBe(0);
    expect(again.output()).toContain("users/alice/cli/changed.bin was uploaded from a file that changed since an earlier run; that run's upload is aborted");
    expect((await h.listUploads("alice")).filter((u) => u.key === "users/alice/cli/changed.bin")).toEqual([]);
    expect(sha256(await h.readBack("users/alice/cli/changed.bin"))).toBe(digest);
    expect(Object.keys(JSON.parse(await readFile(state, "utf8")))).toEqual([]);
  });

  it("Ctrl-C while a file's Complete is on its way waits for it: the file is reported uploaded, not paused; a file that failed says why", async () => {
    const h = harness();
    h.resetCounters();
    const file = join(dir, "completing.bin");
    await writeRandomFile(file, 3 * MiB);
    h.fault({ kind: "delay", operation: "CompleteMultipartUpload", delayMs: 1500 });
    const run = cli([...(await uploadArgs(file, join(dir, "state-completing.json"), ["--part-size", "1M"])), join(dir, "gone.bin")]);
    await until(() => (h.counters().operations.CompleteMultipartUpload ?? 0) > 0, run);
    run.signal("SIGINT");
    expect(await run.exit, run.output()).toBe(130);
    expect(run.output()).toContain(`uploaded ${file} -> users/alice/cli/completing.bin`);
    expect(run.output()).toMatch(/failed .*gone\.bin: cannot read .*ENOENT/);
    expect(await h.readBackSha256("users/alice/cli/completing.bin", "alice")).toBeTruthy();
    h.clearFaults();
  });

  it("SIGTERM pauses and saves like Ctrl-C (exit 143, no temporary file left); a run without --resume says it starts the earlier upload over", async () => {
    const h = harness();
    h.resetCounters();
    const file = join(dir, "term.bin");
    await writeRandomFile(file, 6 * MiB);
    const state = join(dir, "state-term.json");
    for (let n = 2; n <= 6; n++) h.fault({ kind: "slow", operation: "UploadPart", query: `partNumber=${n}`, bitsPerSecond: 81920 });
    const first = cli(await uploadArgs(file, state, ["--part-size", "1M", "--concurrency", "1"]));
    await until(() => Object.values(h.counters().parts).some((parts) => Object.keys(parts).length >= 1), first);
    first.signal("SIGTERM");
    expect(await first.exit, first.output()).toBe(143);
    expect(first.output()).toContain("paused (SIGTERM); finished parts are saved");
    expect((await readdir(dir)).filter((name) => name.startsWith("state-term.json."))).toEqual([]);
    h.clearFaults();
    const earlier = (await h.listUploads("alice")).filter((u) => u.key === "users/alice/cli/term.bin");
    expect(earlier).toHaveLength(1);
    const again = cli(await uploadArgs(file, state, ["--part-size", "1M"]));
    expect(await again.exit, again.output()).toBe(0);
    expect(again.output()).toContain("term.bin has an unfinished upload from an earlier run; starting it over (--resume would continue it)");
    // The earlier run's upload is aborted, not left on COS for the sweeper.
    expect((await h.listUploads("alice")).filter((u) => u.key === "users/alice/cli/term.bin")).toEqual([]);
  });

  it("fails with exit 1 and the reason when the upload is refused; exit 2 on a usage error", async () => {
    const file = join(dir, "refused.bin");
    await writeRandomFile(file, 1000);
    const h = harness();
    const refused = cli(["upload", file, "--endpoint", h.endpoint, "--token", await h.token("alice"), "--prefix", "users/bob/", "--state", join(dir, "state-refused.json")]);
    expect(await refused.exit).toBe(1);
    expect(refused.output()).toMatch(/failed .*refused\.bin: .*403 KeyOutsidePrefix/);

    const usage = cli(["upload", file]);
    expect(await usage.exit).toBe(2);
    expect(usage.output()).toContain("--endpoint is required");
    for (const [args, message] of [
      [["--part-size", "100"], "--part-size must be from 1M to 5G"],
      [["--part-size", "6G"], "--part-size must be from 1M to 5G"],
      [["--endpoint", "127.0.0.1:8787"], "--endpoint must be an http(s) URL"],
      [["--endpoint", "http://me:hunter2@127.0.0.1:8787"], "--endpoint must not hold a user name or password"],
    ] as const) {
      const bad = cli(["upload", file, "--endpoint", h.endpoint, ...args]);
      expect(await bad.exit, args.join(" ")).toBe(2);
      expect(bad.output()).toContain(message);
      expect(bad.output()).not.toContain("hunter2");
    }
  });

  it("a missing file or a directory fails on its own (exit 1) while the others upload; refusals do not suggest --resume; a 401 says how to pass a token", async () => {
    const h = harness();
    const ok = join(dir, "fine.bin");
    await writeRandomFile(ok, 1000);
    const run = cli(["upload", join(dir, "no-such.bin"), dir, ok, "--endpoint", h.endpoint, "--token", await h.token("alice"), "--prefix", "users/alice/cli/", "--state", join(dir, "state-mixed.json")]);
    expect(await run.exit, run.output()).toBe(1);
    expect(run.output()).toMatch(/failed .*no-such\.bin: cannot read .*ENOENT/);
    expect(run.output()).toMatch(/is not a file \(a directory\)/);
    expect(run.output()).toContain("uploaded " + ok + " -> users/alice/cli/fine.bin");
    expect(run.output()).toContain("2 of 3 file(s) failed\n");
    expect(run.output()).not.toContain("usage:");

    const anonymous = cli(["upload", ok, "--endpoint", h.endpoint, "--state", join(dir, "state-anon.json")]);
    expect(await anonymous.exit).toBe(1);
    expect(anonymous.output()).toMatch(/401 Unauthenticated.*pass --token T or set \$COS_DIRECT_TOKEN/);
    expect(anonymous.output()).not.toContain("--resume");
  });

  it("refuses, before uploading anything: two files that would get the same key, and a checkpoint file it cannot use", async () => {
    const h = harness();
    const [a, b] = [join(dir, "one", "same.txt"), join(dir, "two", "same.txt")];
    await Promise.all([mkdir(join(dir, "one")), mkdir(join(dir, "two"))]);
    await writeRandomFile(a, 10);
    await writeRandomFile(b, 10);
    const token = await h.token("alice");
    const same = cli(["upload", a, b, "--endpoint", h.endpoint, "--token", token, "--prefix", "users/alice/cli/", "--state", join(dir, "state-same.json")]);
    expect(await same.exit).toBe(2);
    expect(same.output()).toContain("would both upload to users/alice/cli/same.txt");
    const corrupt = join(dir, "corrupt.json");
    await writeFile(corrupt, "garbage{");
    // Unreadable JSON, a folder that cannot be made (a file stands where it would go), and one
    // under /proc (where Node's recursive mkdir never returns).
    for (const state of [corrupt, join(corrupt, "state.json"), "/proc/no-such-dir/state.json"]) {
      const run = cli(["upload", a, "--endpoint", h.endpoint, "--token", token, "--prefix", "users/alice/cli/", "--state", state]);
      expect(await run.exit, run.output()).toBe(2);
      expect(run.output()).toContain(`cannot use the checkpoint file ${state}`);
    }
  });

  it("check: exit 0 for an origin the setup serves, 1 with each problem and what to change for one it does not, 3 when it cannot run, 2 for a missing or malformed --origin", async () => {
    const h = harness();
    const token = await h.token("alice");
    const good = cli(["check", "--endpoint", h.endpoint, "--token", token, "--origin", "https://app.example"]);
    expect(await good.exit, good.output()).toBe(0);
    expect(good.output()).toContain("origin https://app.example: bucket CORS ok");
    expect(good.output()).toContain("uploads from https://app.example should work");
    const bad = cli(["check", "--endpoint", h.endpoint, "--token", token, "--origin", "https://other.example"]);
    expect(await bad.exit).toBe(1);
    expect(bad.output()).toMatch(/^error: CORS_ORIGINS does not include https:\/\/other\.example.*\[ApiOriginNotAllowed\]$/m);
    expect(bad.output()).toContain("1 problem(s) would make uploads from https://other.example fail");
    // A check that cannot run is not a verdict: exit 3, with what to do about the token.
    const anonymous = cli(["check", "--endpoint", h.endpoint, "--origin", "https://app.example"]);
    expect(await anonymous.exit).toBe(3);
    expect(anonymous.output()).toContain("could not run the check");
    expect(anonymous.output()).toContain("pass --token T");
    const refused = cli(["check", "--endpoint", h.endpoint, "--token", "not.a.jwt", "--origin", "https://app.example"]);
    expect(await refused.exit).toBe(3);
    expect(refused.output()).toContain("the token was refused");
    const usage = cli(["check", "--endpoint", h.endpoint]);
    expect(await usage.exit).toBe(2);
    expect(usage.output()).toContain("check needs --origin");
    // An origin not as a browser writes it is a usage error, found before any request.
    for (const [origin, hint] of [["HTTPS://APP.EXAMPLE/", "(https://app.example?)"], ["https://app.example/", "(https://app.example?)"], ["app.example", "such as https://app.example.com"]]) {
      const bad = cli(["check", "--endpoint", h.endpoint, "--token", token, "--origin", origin]);
      expect(await bad.exit, origin).toBe(2);
      expect(bad.output()).toContain(hint);
    }
  });

  it("on a terminal with fewer rows than files, draws only what fits: the files under way and a line summing up the rest", () => {
    const writes: string[] = [];
    const out = { isTTY: true, rows: 6, columns: 100, write: (text: string) => writes.push(text) } as unknown as NodeJS.WriteStream;
    const zero = { loaded: 0, total: 100, speed: 0, percent: 0, eta: null };
    const rows = Array.from({ length: 25 }, (_, i) => ({ file: `photo_${i}.jpg`, name: `photo_${i}.jpg`, progress: zero, state: "queued" as const, step: -1 }));
    const display = new Display(out, rows as ConstructorParameters<typeof Display>[1], true);
    for (const [i, row] of rows.entries()) {
      (row as { state: string }).state = i < 20 ? "done" : "uploading";
      display.update(row, true);
    }
    for (const text of writes) {
      const lines = text.split("\n").length - 1;
      expect(lines).toBeLessThanOrEqual(5); // rows - 1: moving up never goes above the screen's top
      expect(Number(/^\x1b\[(\d+)A/.exec(text)?.[1] ?? 0)).toBeLessThanOrEqual(5);
    }
    const last = writes.at(-1)!;
    for (const n of [20, 21, 22, 23]) expect(last).toContain(`photo_${n}.jpg`);
    expect(last).toContain("21 more: 20 done, 0 failed, 1 to go");
    // 40 columns: a finished file's outcome survives the cut (it comes before the sizes).
    const narrow: string[] = [];
    const small = new Display({ isTTY: true, rows: 6, columns: 40, write: (text: string) => narrow.push(text) } as unknown as NodeJS.WriteStream, [{ ...rows[0], name: "mid.bin", state: "failed", progress: { ...zero, loaded: 30 * MiB, total: 30 * MiB, percent: 100 } }] as ConstructorParameters<typeof Display>[1], true);
    small.flush();
    expect(narrow.at(-1)).toMatch(/mid\.bin .*100% +failed/);
  });

  it("runs when started as the file itself (tsx client/cli.ts), not only through bin/cos-direct.mjs", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "client/cli.ts", "--version"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((done) => child.once("close", done));
    expect(code).toBe(0);
    expect(output).toMatch(/^cos-direct \S+\n$/);
  });

  it("reads sizes with binary units and prints ETAs as m:ss", () => {
    expect(parseSize("8M")).toBe(8 * MiB);
    expect(parseSize("512k")).toBe(512 * 1024);
    expect(parseSize("1048576")).toBe(MiB);
    expect(() => parseSize("lots")).toThrow(/not a size/);
    expect(formatEta(75)).toBe("01:15");
    expect(formatEta(3725)).toBe("1:02:05");
    expect(formatEta(null)).toBe("--:--");
    expect(formatBytes(61.53846)).toBe("62 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
  });

  it("fits a line to the terminal by columns: wide characters count twice, a cut name keeps its end", () => {
    expect(fitColumns("报告.pdf", 10)).toBe("报告.pdf  ");
    expect(fitColumns("年度报告最终版.pdf", 10)).toBe("…终版.pdf ");
    expect(fitColumns("a-very-long-name.bin", 8)).toBe("…ame.bin");
    expect(fitColumns("progress line that is too long", 10, "end")).toBe("progress …");
  });
});
