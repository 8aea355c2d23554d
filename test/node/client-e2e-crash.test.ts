// Resume after a crash (issue 4 "Tests"): a child process (fixtures/client-crash-child.ts) uploads a
// file with a file Store and is killed with SIGKILL mid-upload; a second run with the same Store
// resumes the same multipart upload from its checkpoint, and cos-local's per-(uploadId, partNumber)
// counters show that no part it had accepted was uploaded again.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MiB, useClientHarness, writeRandomFile } from "./client-harness";

const harness = useClientHarness();
const CHILD = resolve(fileURLToPath(import.meta.url), "../fixtures/client-crash-child.ts");
const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "client-e2e-crash-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

interface Run {
  child: ChildProcess;
  lines: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runChild(args: object): Run {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, JSON.stringify(args)], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  let rest = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    const text = rest + chunk.toString();
    const parts = text.split("\n");
    rest = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.on("data", (chunk: Buffer) => lines.push(`stderr ${chunk.toString()}`));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once("exit", (code, signal) => done({ code, signal })));
  return { child, lines, exit };
}

/** Parts cos-local accepted, per upload id. */
const accepted = () => harness().counters().parts;

describe("resume after a crash", () => {
  it("SIGKILL mid-upload, run again: resumes the same upload from the checkpoint and sends no finished part again", async () => {
    const h = harness();
    h.resetCounters();
    const size = 12 * MiB + 4321;
    const partCount = 13;
    const path = join(dir, "crash.bin");
    const digest = await writeRandomFile(path, size);
    const args = { endpoint: h.endpoint, token: await h.token("alice"), path, key: "users/alice/crash/crash.bin", storePath: join(dir, "store", "checkpoints.json"), partSize: MiB, chunkParallelLimit: 2 };

    // First run: parts slowed to about 0.25 s each, killed once four are in COS.
    h.fault({ kind: "slow", operation: "UploadPart", bitsPerSecond: 32 * MiB, count: 1000 });
    const first = runChild(args);
    await new Promise<void>((ready, fail) => {
      const timer = setInterval(() => {
        const total = Object.values(accepted()).reduce((n, parts) => n + Object.keys(parts).length, 0);
        if (total >= 4) {
          clearInterval(timer);
          ready();
        }
      }, 10);
      void first.exit.then(({ code }) => {
        clearInterval(timer);
        fail(new Error(`the first run ended (${code}) before it was killed:\n${first.lines.join("\n")}`));
      });
    });
    first.child.kill("SIGKILL");
    expect((await first.exit).signal).toBe("SIGKILL");
    h.clearFaults();

    const uploads = Object.keys(accepted());
    expect(uploads).toHaveLength(1);
    const [uploadId] = uploads;
    const beforeCrash = { ...accepted()[uploadId] };
    expect(Object.keys(beforeCrash).length).toBeGreaterThanOrEqual(4);
    expect(Object.keys(beforeCrash).length).toBeLessThan(partCount);

    // Second run, same store: the same upload id, the missing parts only, then complete.
    const second = runChild(args);
    const { code } = await second.exit;
    expect(code, second.lines.join("\n")).toBe(0);
    const result = JSON.parse(second.lines.find((l) => l.startsWith("result "))!.slice("result ".length));
    expect(result).toMatchObject({ key: "users/alice/crash/crash.bin", size });
    expect(second.lines.some((l) => l.startsWith("state ") && l.endsWith(uploadId))).toBe(true);

    const after = accepted();
    expect(Object.keys(after)).toEqual([uploadId]); // no second multipart upload was started
    expect(Object.keys(after[uploadId])).toHaveLength(partCount);
    for (const [partNumber, times] of Object.entries(after[uploadId])) expect(times, `part ${partNumber}`).toBe(1);
    expect(h.counters().operations.InitiateMultipartUpload).toBe(1);
    expect(await h.readBackSha256(result.key)).toBe(digest);
    expect(await h.listUploads()).toEqual([]);
  });
});
