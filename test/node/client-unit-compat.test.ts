// The cos-js-sdk-v5 compat layer (client/compat.ts) against the fake COS, for what code written for
// the SDK reads: restartTask's order of outcomes, uploadFiles' latest outcome per file, the queue's
// isUploadRunning and task-list-update, getTaskList's Key, err.code, and a top-level TrafficLimit.
// (test/node/client-compat.test.ts runs the seed's examples against workerd and cos-local.)

import { describe, expect, it } from "vitest";
import { CosDirect, type CompatError, type TaskInfo, type UploadFilesData } from "../../client/compat";
import { createUploader, memoryStore } from "../../client/node";
import type { Store } from "../../client/types";
import { FakeCos } from "./client-fake";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function setup(fake = new FakeCos(), store?: Store) {
  const uploader = createUploader({ endpoint: "https://api.test", fetch: fake.fetch, httpStack: fake.stack, retry: { attempts: 1, baseDelay: 1, maxDelay: 2 }, chunkParallelLimit: 1, ...(store ? { store } : {}) });
  return new CosDirect({ endpoint: "https://api.test", uploader });
}

/** A store whose writes take a few ms (IndexedDB, AsyncStorage): a failed run lets go of its checkpoint after its state says "error". */
function slowStore(ms: number): Store {
  const inner = memoryStore();
  const later = () => new Promise((r) => setTimeout(r, ms));
  return { ...inner, set: async (k, v) => (await later(), inner.set(k, v)), remove: async (k) => (await later(), inner.remove(k)) };
}

const part2Fails = (fake: FakeCos, times: () => boolean) =>
  (fake.intercept = (req) => (req.to === "cos" && req.query.get("partNumber") === "2" && times() ? { status: 500, body: "<Error><Code>InternalError</Code></Error>" } : undefined));

describe("compat: the SDK's queue", () => {
  it("restartTask from list-update as the task fails: its callback hears the failure first, then the success; the list ends with no stale error", async () => {
    const fake = new FakeCos();
    let fail = true;
    part2Fails(fake, () => fail);
    const cos = setup(fake, slowStore(5));
    const heard: string[] = [];
    let restarted = false;
    cos.on("list-update", ({ list }) => {
      const t = list[0];
      if (!t || t.state !== "error" || restarted) return;
      restarted = true;
      fail = false;
      cos.restartTask(t.id);
    });
    await new Promise<void>((resolve) =>
      cos.sliceUploadFile({ Key: "a.bin", Body: new Uint8Array(3000) }, (err, data) => {
        heard.push(err ? `error ${err.statusCode} (list: ${cos.getTaskList()[0].state})` : `ok ${data!.Key}`);
        if (!err) resolve();
      }),
    );
    await sleep(20);
    expect(heard).toEqual(["error 500 (list: error)", "ok a.bin"]);
    expect(cos.getTaskList()[0]).toMatchObject({ state: "success", error: null });
  });

  it("uploadFiles: a file restarted from onFileFinish that then succeeds is a success in data.files", async () => {
    const fake = new FakeCos();
    let fail = 1;
    fake.putDelay = 20;
    part2Fails(fake, () => fail-- > 0);
    const cos = setup(fake);
    const finishes: string[] = [];
    const data = await new Promise<UploadFilesData>((resolve) =>
      cos.uploadFiles(
        {
          files: [
            { Key: "a.bin", Body: new Uint8Array(3000) },
            { Key: "b.bin", Body: new Uint8Array(8000) },
          ],
          onFileFinish: (err, _data, options) => {
            finishes.push(`${options.Key}:${err ? "error" : "ok"}`);
            if (err) cos.restartTask(String(options.TaskId));
          },
        },
        (_err, d) => resolve(d!),
      ),
    );
    expect(finishes).toEqual(["a.bin:error", "a.bin:ok", "b.bin:ok"]);
    expect(data.files.map((f) => `${f.options.Key}:${f.error ? "error" : "ok"}`)).toEqual(["a.bin:ok", "b.bin:ok"]);
  });

  it("isUploadRunning says whether a task waits or uploads; task-list-update is heard like list-update", async () => {
    const fake = new FakeCos();
    fake.putDelay = 30;
    const cos = setup(fake);
    let updates = 0;
    cos.on("task-list-update", () => updates++);
    expect(cos.isUploadRunning()).toBe(false);
    const put = cos.putObject({ Key: "r.txt", Body: "x" });
    expect(cos.isUploadRunning()).toBe(true);
    await put;
    await sleep(20);
    expect(cos.isUploadRunning()).toBe(false);
    expect(updates).toBeGreaterThan(0);
  });

  it("getTaskList gives the Key without a leading slash, as data.Key does", async () => {
    const cos = setup();
    const data = await cos.putObject({ Key: "/slash.txt", Body: "x" });
    expect(data.Key).toBe("slash.txt");
    expect((cos.getTaskList() as TaskInfo[])[0].Key).toBe("slash.txt");
  });
});

describe("compat: what SDK code reads from requests and errors", () => {
  it("err.code and err.error.Code are always strings: COS's code, else the status, else the error's name", async () => {
    const fake = new FakeCos();
    let answer: "bare 503" | "no answer" = "bare 503";
    fake.intercept = (req) => (req.to !== "cos" ? undefined : answer === "bare 503" ? { status: 503, body: "" } : new TypeError("fetch failed"));
    const cos = setup(fake);
    const bare = (await cos.putObject({ Key: "e.txt", Body: "x" }).catch((e: unknown) => e)) as CompatError;
    expect(bare.statusCode).toBe(503);
    expect([bare.code, bare.error?.Code]).toEqual(["503", "503"]);
    answer = "no answer";
    const lost = (await cos.putObject({ Key: "e.txt", Body: "x" }).catch((e: unknown) => e)) as CompatError;
    expect([lost.code, lost.error?.Code]).toEqual(["NetworkError", "NetworkError"]);
    fake.intercept = (req) => (req.to === "cos" ? { status: 403, body: "<Error><Code>AccessDenied</Code></Error>" } : undefined);
    expect(((await cos.putObject({ Key: "e.txt", Body: "x" }).catch((e: unknown) => e)) as CompatError).code).toBe("AccessDenied");
  });

  it("TrafficLimit at the top level is sent, as through Headers", async () => {
    const fake = new FakeCos();
    const cos = setup(fake);
    await cos.putObject({ Key: "t1.txt", Body: "x", TrafficLimit: 819200 });
    await cos.putObject({ Key: "t2.txt", Body: "x", Headers: { "x-cos-traffic-limit": 409600 } });
    expect(fake.find("POST", /^\/v1\/uploads$/).map((r) => r.json.trafficLimit)).toEqual([819200, 409600]);
  });
});
