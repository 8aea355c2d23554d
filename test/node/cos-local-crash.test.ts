// cos-local crashes (issue 6 "Faults and crashes"): cos-local runs as its own process (`tsx
// emulator/cli.ts --port 0 --data <dir>`) and is SIGKILLed while a part body, an object body or a
// Complete is in progress, then restarted on the same data directory. It must serve no
// half-written object or part, and the multipart upload must still be listed and completable.

import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CosLocal } from "../../emulator/server";
import { startCosLocalProcess } from "../../scripts/cos-local-process";
import { BUCKET, bytes, MB, SECRET_ID, SECRET_KEY, send, type Local } from "./emulator-harness";

let dataDir: string;
let running: { child: ChildProcess; local: Local } | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "cos-local-crash-"));
});
afterEach(() => kill());
afterAll(() => rm(dataDir, { recursive: true, force: true }));

/** Starts `npm run cos-local` (tsx emulator/cli.ts) on dataDir and waits for its address. */
async function start(): Promise<Local> {
  const { child, port } = await startCosLocalProcess({ dataDir, env: { COS_LOCAL_SECRET_ID: SECRET_ID, COS_LOCAL_SECRET_KEY: SECRET_KEY, COS_LOCAL_BUCKET: BUCKET }, stderr: "pipe" });
  const local: Local = { cos: { bucket: BUCKET, port } as CosLocal, dataDir, close: async () => kill() };
  running = { child, local };
  return local;
}

/** SIGKILL, and wait for the process to be gone. */
async function kill(): Promise<void> {
  if (!running) return;
  const { child } = running;
  running = undefined;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((done) => child.once("exit", done));
  child.kill("SIGKILL");
  await gone;
}

/** Sends a PUT whose body stops halfway, so the request is in progress when cos-local dies. */
function stalledPut(local: Local, key: string, body: Buffer, query: Record<string, string> = {}): Promise<unknown> {
  const stream = new Readable({ read() {} });
  stream.push(body.subarray(0, body.length >> 1));
  return send(local, { method: "PUT", key, query, headers: { "content-length": String(body.length) }, body: stream }).catch((error: Error) => error);
}

const partsOf = (xmlText: string) => [...xmlText.matchAll(/<PartNumber>(\d+)<\/PartNumber>/g)].map((m) => Number(m[1]));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function initiate(local: Local, key: string): Promise<string> {
  const init = await send(local, { method: "POST", key, query: { uploads: "" } });
  expect(init.status, init.text).toBe(200);
  return /<UploadId>([^<]+)<\/UploadId>/.exec(init.text)![1];
}

async function putPart(local: Local, key: string, uploadId: string, partNumber: number, body: Buffer): Promise<string> {
  const reply = await send(local, { method: "PUT", key, query: { partNumber: String(partNumber), uploadId }, body });
  expect(reply.status, reply.text).toBe(200);
  return String(reply.headers.etag);
}

const completeXml = (etags: string[]) =>
  `<CompleteMultipartUpload>${etags.map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${etag}</ETag></Part>`).join("")}</CompleteMultipartUpload>`;

async function uploadIds(local: Local): Promise<string[]> {
  const list = await send(local, { method: "GET", query: { uploads: "" } });
  expect(list.status, list.text).toBe(200);
  return [...list.text.matchAll(/<UploadId>([^<]+)<\/UploadId>/g)].map((m) => m[1]);
}

describe("cos-local SIGKILLed and restarted on the same data directory", () => {
  it("during a part upload: the half-sent part is not there, the upload is listed and completes", async () => {
    let local = await start();
    const key = "crash/parts.bin";
    const parts = [bytes(MB + 1000, 71), bytes(MB, 72)];
    const uploadId = await initiate(local, key);
    const etag1 = await putPart(local, key, uploadId, 1, parts[0]);
    const pending = stalledPut(local, key, parts[1], { partNumber: "2", uploadId });
    await sleep(200); // half of part 2 is in cos-local's tmp/ by now
    await kill();
    expect(await pending).toBeInstanceOf(Error); // the connection died with cos-local

    local = await start();
    expect(await uploadIds(local)).toContain(uploadId);
    const listed = await send(local, { method: "GET", key, query: { uploadId } });
    expect(listed.status, listed.text).toBe(200);
    expect(partsOf(listed.text)).toEqual([1]);
    expect((await send(local, { method: "GET", key })).status).toBe(404);

    const etag2 = await putPart(local, key, uploadId, 2, parts[1]);
    const done = await send(local, { method: "POST", key, query: { uploadId }, body: completeXml([etag1, etag2]) });
    expect(done.status).toBe(200);
    expect(done.text).toContain("CompleteMultipartUploadResult");
    const read = await send(local, { method: "GET", key });
    expect(read.status).toBe(200);
    expect(read.body.equals(Buffer.concat(parts))).toBe(true);
  });

  it("during a single PUT that replaces an object: the old object stays whole, no half-written one", async () => {
    let local = await start();
    const key = "crash/object.bin";
    const old = bytes(300_000, 73);
    expect((await send(local, { method: "PUT", key, body: old })).status).toBe(200);
    const pending = stalledPut(local, key, bytes(2 * MB, 74));
    await sleep(200);
    await kill();
    await pending;

    local = await start();
    const read = await send(local, { method: "GET", key });
    expect(read.status).toBe(200);
    expect(read.body.equals(old)).toBe(true);
  });

  it("during Complete, at several points: the object is absent or whole, and the upload completes after the last restart", async () => {
    let local = await start();
    const key = "crash/complete.bin";
    const parts = [bytes(8 * MB, 75), bytes(8 * MB, 76), bytes(8 * MB + 123, 77)];
    const whole = Buffer.concat(parts);
    const uploadId = await initiate(local, key);
    const etags: string[] = [];
    for (const [i, part] of parts.entries()) etags.push(await putPart(local, key, uploadId, i + 1, part));

    const outcomes: string[] = [];
    for (const delayMs of [0, 5, 15, 40]) {
      if (!(await uploadIds(local)).includes(uploadId)) break;
      const pending = send(local, { method: "POST", key, query: { uploadId }, body: completeXml(etags) }).catch((error: Error) => error);
      await sleep(delayMs);
      await kill();
      await pending;

      local = await start();
      const read = await send(local, { method: "GET", key });
      const listed = (await uploadIds(local)).includes(uploadId);
      if (read.status === 200) {
        // Completed before the kill: all of it, and the upload is gone.
        expect(read.body.length).toBe(whole.length);
        expect(read.body.equals(whole)).toBe(true);
        expect(listed).toBe(false);
        outcomes.push(`${delayMs} ms: completed`);
      } else {
        // Not completed: no object at all, and the upload with every part still there.
        expect(read.status).toBe(404);
        expect(listed).toBe(true);
        const partList = await send(local, { method: "GET", key, query: { uploadId } });
        expect(partsOf(partList.text)).toEqual([1, 2, 3]);
        outcomes.push(`${delayMs} ms: not completed, upload intact`);
      }
    }
    // At least the kill sent with the Complete (0 ms) must have interrupted it.
    expect(outcomes[0], outcomes.join("; ")).toBe("0 ms: not completed, upload intact");

    if ((await uploadIds(local)).includes(uploadId)) {
      const done = await send(local, { method: "POST", key, query: { uploadId }, body: completeXml(etags) });
      expect(done.text).toContain("CompleteMultipartUploadResult");
    }
    const read = await send(local, { method: "GET", key });
    expect(read.status).toBe(200);
    expect(read.body.equals(whole)).toBe(true);
    expect(await uploadIds(local)).toEqual([]);
  });
});
