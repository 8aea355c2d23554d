// The task state machine (client/upload.ts): its one transition table, the states a single PUT and a
// multipart upload pass through, pause/resume, cancel (DELETE on the server, done rejects), failure
// and resume after failure. Driven by the fake API + COS in client-fake.ts.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it, vi } from "vitest";
import { createUploader, isCancelledError, isHttpError, memoryStore, TRANSITIONS } from "../../client/node";
import type { HttpStack, TaskState, UploadBody } from "../../client/types";
import { bytes } from "../shared/bytes";
import { FakeCos, until } from "./client-fake";

const fast = { attempts: 3, baseDelay: 1, maxDelay: 2 };

function setup(cos = new FakeCos(), extra = {}) {
  return createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, retry: fast, ...extra });
}

describe("the transition table", () => {
  it("has no way out of done and cancelled, and only resume (queued) out of paused and failed besides cancel", () => {
    expect(TRANSITIONS.done).toEqual([]);
    expect(TRANSITIONS.cancelled).toEqual([]);
    expect([...TRANSITIONS.paused].sort()).toEqual(["cancelled", "queued"]);
    expect(TRANSITIONS.completing).not.toContain("paused");
    expect([...TRANSITIONS.failed].sort()).toEqual(["cancelled", "queued"]);
  });
});

describe("states of a task", () => {
  it("a single PUT, one request at a time (nextRequest/respondWith): plan, PUT, confirm", async () => {
    const cos = new FakeCos();
    cos.manual();
    const states: TaskState[] = [];
    const task = setup(cos).upload({ key: "users/test/a.txt", body: "hello", onStateChange: (s) => states.push(s) });
    expect(task.state).toBe("queued");

    const plan = await cos.nextRequest();
    expect([plan.to, plan.method, plan.path]).toEqual(["api", "POST", "/v1/uploads"]);
    expect(plan.json).toMatchObject({ key: "users/test/a.txt", size: 5 });
    expect(task.state).toBe("initiating");
    plan.passThrough();

    const put = await cos.nextRequest();
    expect([put.to, put.method, put.path]).toEqual(["cos", "PUT", "/users/test/a.txt"]);
    expect(new TextDecoder().decode(put.body)).toBe("hello");
    expect(task.state).toBe("uploading");
    put.passThrough();

    const confirm = await cos.nextRequest();
    expect(confirm.path).toBe("/v1/objects/confirm");
    expect(task.state).toBe("completing");
    confirm.passThrough();

    const result = await task.done;
    expect(result).toMatchObject({ key: "users/test/a.txt", size: 5 });
    expect(states).toEqual(["initiating", "uploading", "completing", "done"]);
    expect(task.progress).toMatchObject({ loaded: 5, total: 5, percent: 100 });
  });

  it("multipart: initiating, uploading, completing, done; parts and complete in order", async () => {
    const cos = new FakeCos();
    const states: TaskState[] = [];
    const body = bytes(3500, 1);
    const result = await setup(cos).upload({ key: "users/test/m.bin", body, onStateChange: (s) => states.push(s) }).done;
    expect(states).toEqual(["initiating", "uploading", "completing", "done"]);
    expect(result.size).toBe(3500);
    expect(cos.objects.get("users/test/m.bin")).toEqual(body);
    expect([...cos.partPuts()].sort()).toEqual([1, 2, 3, 4]);
    expect(cos.find("POST", "/complete")[0].json.parts.map((p: { partNumber: number }) => p.partNumber)).toEqual([1, 2, 3, 4]);
  });

  it("pause aborts the parts in flight and keeps finished ones; resume sends only the rest", async () => {
    const cos = new FakeCos();
    cos.putDelay = 40;
    const states: TaskState[] = [];
    const body = bytes(8 * 1024, 2);
    const task = setup(cos, { chunkParallelLimit: 2 }).upload({ key: "users/test/p.bin", body, onStateChange: (s) => states.push(s) });
    await until(() => [...cos.uploads.values()][0]?.parts.size >= 2, "two parts in COS");
    task.pause();
    expect(task.state).toBe("paused");
    const kept = [...[...cos.uploads.values()][0].parts.keys()];
    const putsAtPause = cos.partPuts().length;
    await new Promise((r) => setTimeout(r, 100));
    expect(cos.partPuts().length).toBe(putsAtPause);
    expect(cos.inFlight).toBe(0);

    task.resume();
    const result = await task.done;
    expect(result.size).toBe(body.length);
    expect(cos.objects.get("users/test/p.bin")).toEqual(body);
    const afterResume = cos.partPuts().slice(putsAtPause);
    for (const n of kept) expect(afterResume).not.toContain(n);
    expect(states).toEqual(["initiating", "uploading", "paused", "queued", "uploading", "completing", "done"]);
  });


  it("pause() then resume() in the same tick as upload(): the task runs once and finishes", async () => {
    for (const size of [500, 3000]) {
      const cos = new FakeCos();
      const states: TaskState[] = [];
      const body = bytes(size, 5);
      const uploader = setup(cos);
      const task = uploader.upload({ key: `users/test/tick-${size}.bin`, body, onStateChange: (s) => states.push(s) });
      task.pause();
      task.resume();
      // The first run had its file slot before the pause; it must not move the new run's state.
      expect((await task.done).size).toBe(size);
      expect(cos.objects.get(`users/test/tick-${size}.bin`)).toEqual(body);
      expect(cos.find("POST", /^\/v1\/uploads$/)).toHaveLength(1);
      expect(states).toEqual(["paused", "queued", "initiating", "uploading", "completing", "done"]);
    }
  });

  it("pause and resume while the run opens a slow file handle: the old run stops, the new one finishes", async () => {
    const cos = new FakeCos();
    const body = bytes(3000, 6);
    let opened = 0;
    const gates: (() => void)[] = [];
    const handle = {
      kind: "file" as const,
      name: "slow.bin",
      async getFile() {
        opened++;
        await new Promise<void>((go) => gates.push(go));
        return new File([body], "slow.bin", { lastModified: 1_700_000_000_000 });
      },
    };
    const states: TaskState[] = [];
    const task = setup(cos).upload({ key: "users/test/slow.bin", body: handle, onStateChange: (s) => states.push(s) });
    // The constructor reads the size; the run's own getFile is the second.
    await until(() => opened === 2, "the run opening the file");
    task.pause();
    task.resume();
    while (task.state !== "done") {
      gates.splice(0).forEach((go) => go());
      await new Promise((r) => setTimeout(r, 5));
    }
    expect((await task.done).size).toBe(3000);
    expect(cos.objects.get("users/test/slow.bin")).toEqual(body);
    expect(cos.find("POST", /^\/v1\/uploads$/)).toHaveLength(1);
    expect(states).toEqual(["paused", "queued", "initiating", "uploading", "completing", "done"]);
  });
  it("cancel aborts the upload on the server and rejects done with CancelledError", async () => {
    const cos = new FakeCos();
    cos.putDelay = 50;
    const task = setup(cos).upload({ key: "users/test/c.bin", body: bytes(5000, 3) });
    await until(() => cos.partPuts().length > 0, "a part PUT");
    const uploadId = task.uploadId!;
    await task.cancel();
    expect(task.state).toBe("cancelled");
    const error = await task.done.catch((e: unknown) => e);
    expect(isCancelledError(error)).toBe(true);
    expect((error as Error).message).toContain("users/test/c.bin");
    expect(cos.aborted).toEqual([uploadId]);
    expect(cos.find("DELETE", `/v1/uploads/${uploadId}`)).toHaveLength(1);
  });

  it("aborting the upload's signal cancels it (aborted on COS, CancelledError), also a signal aborted before upload(); a finished task stops listening", async () => {
    const cos = new FakeCos();
    cos.putDelay = 50;
    const controller = new AbortController();
    const task = setup(cos).upload({ key: "users/test/signal.bin", body: bytes(5000, 3), signal: controller.signal });
    await until(() => cos.partPuts().length > 0, "a part PUT");
    controller.abort();
    const error = await task.done.catch((e: unknown) => e);
    expect(isCancelledError(error)).toBe(true);
    expect(task.state).toBe("cancelled");
    expect(cos.aborted).toEqual([task.uploadId]);

    const early = setup(cos).upload({ key: "users/test/early.bin", body: bytes(500, 4), signal: AbortSignal.abort() });
    expect(isCancelledError(await early.done.catch((e: unknown) => e))).toBe(true);
    expect(cos.find("PUT", /early\.bin/)).toHaveLength(0);

    // Done, the task stops listening (a long-lived signal does not keep every finished task).
    const later = new AbortController();
    const removed = vi.spyOn(later.signal, "removeEventListener");
    const finished = setup(cos).upload({ key: "users/test/later.bin", body: bytes(500, 5), signal: later.signal });
    await finished.done;
    expect(removed).toHaveBeenCalledWith("abort", expect.any(Function));
    later.abort();
    expect(finished.state).toBe("done");
  });

  it("a signal aborted while completing: if the completion then fails, the task is cancelled (the upload aborted on COS), not left to be resumed", async () => {
    const cos = new FakeCos();
    const controller = new AbortController();
    const task = setup(cos).upload({ key: "users/test/g.bin", body: bytes(4 * 1024, 86), signal: controller.signal });
    cos.intercept = (req) => {
      if (!req.path.endsWith("/complete")) return undefined;
      controller.abort();
      return { status: 409, body: { error: { code: "PartsMismatch", message: "x", requestId: "r" } } };
    };
    await task.done.catch(() => undefined);
    await until(() => task.state === "cancelled", "cancelled");
    await until(() => cos.aborted.length > 0, "the abort on COS"); // sent once the failed run has let go
    expect(cos.aborted).toEqual([task.uploadId]);
  });

  it("pause and cancel do not wait on a signing call that hangs (the shared first batch is aborted with the run)", async () => {
    const cos = new FakeCos();
    let hang = true;
    cos.intercept = (req) => (hang && req.path.endsWith("/parts") ? "hang" : undefined);
    const body = bytes(20_000, 5);
    const task = setup(cos).upload({ key: "users/test/hung.bin", body });
    await until(() => cos.find("POST", /\/parts$/).length > 0, "the first signing call");
    // Paused, the run ends at once (resume waits for it): nothing is stuck behind the hung call.
    task.pause();
    hang = false;
    let started = Date.now();
    task.resume();
    const result = await task.done;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(cos.objects.get("users/test/hung.bin")).toEqual(body);

    hang = true;
    const signsBefore = cos.find("POST", /\/parts$/).length;
    const second = setup(cos).upload({ key: "users/test/hung-cancel.bin", body });
    await until(() => cos.find("POST", /\/parts$/).length > signsBefore, "the second upload's signing call");
    started = Date.now();
    await second.cancel();
    // cancel() would wait up to 3 s for a run stuck behind the call.
    expect(Date.now() - started).toBeLessThan(1000);
    expect(isCancelledError(await second.done.catch((e: unknown) => e))).toBe(true);
    expect(result.size).toBe(body.length);
  });

  it("a final error fails the task (done rejects, state failed); resume from failed finishes it", async () => {
    const cos = new FakeCos();
    let breakPart = true;
    cos.intercept = (req) => (breakPart && req.query.get("partNumber") === "2" ? { status: 400, body: "<Error><Code>InvalidArgument</Code><Message>bad</Message><RequestId>req-400</RequestId></Error>" } : undefined);
    const states: TaskState[] = [];
    const body = bytes(3000, 4);
    const task = setup(cos).upload({ key: "users/test/f.bin", body, onStateChange: (s) => states.push(s) });
    const error = await task.done.catch((e: unknown) => e);
    expect(isHttpError(error)).toBe(true);
    expect(task.state).toBe("failed");
    // 4xx is final: part 2 was tried once.
    expect(cos.partPuts().filter((n) => n === 2)).toHaveLength(1);

    breakPart = false;
    task.resume();
    const result = await task.done;
    expect(result.size).toBe(3000);
    expect(cos.objects.get("users/test/f.bin")).toEqual(body);
    expect(states.slice(-4)).toEqual(["queued", "uploading", "completing", "done"]);
  });

  it("a single PUT whose confirm failed is not sent again on resume: the task only confirms", async () => {
    const cos = new FakeCos();
    let confirmDown = true;
    cos.intercept = (req) => (confirmDown && req.path === "/v1/objects/confirm" ? { status: 502, body: { error: { code: "CosUnavailable", message: "COS did not answer", requestId: "req-502" } } } : undefined);
    const states: TaskState[] = [];
    const body = bytes(700, 9);
    const task = setup(cos).upload({ key: "users/test/one.bin", body, onStateChange: (s) => states.push(s) });
    const error = await task.done.catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/confirm failed with 502 CosUnavailable/);
    expect(cos.find("POST", "/v1/objects/confirm")).toHaveLength(fast.attempts);
    expect(task.progress.loaded).toBe(700); // COS has the bytes

    confirmDown = false;
    task.resume();
    const result = await task.done;
    expect(result.size).toBe(700);
    expect(cos.objects.get("users/test/one.bin")).toEqual(body);
    expect(cos.find("PUT", "/users/test/one.bin")).toHaveLength(1);
    expect(cos.find("POST", "/v1/uploads")).toHaveLength(1);
    expect(states.slice(-4)).toEqual(["queued", "uploading", "completing", "done"]);
  });

  it("a single PUT whose object is gone or replaced before the confirm: the task fails, and resume sends the file again", async () => {
    for (const meddle of ["delete", "replace"] as const) {
      const cos = new FakeCos();
      const key = `users/test/${meddle}.bin`;
      let once = true;
      cos.intercept = (req) => {
        if (once && req.path === "/v1/objects/confirm") {
          once = false;
          if (meddle === "delete") cos.objects.delete(key);
          else cos.objects.set(key, bytes(700, 99)); // another writer, same key and size
        }
        return undefined;
      };
      const body = bytes(700, 10);
      const loaded: number[] = [];
      const task = setup(cos).upload({ key, body, onProgress: (p) => loaded.push(p.loaded) });
      const error = await task.done.catch((e: unknown) => e);
      expect((error as Error).name).toBe(meddle === "delete" ? "ApiError" : "IntegrityError");
      // Failed, and none of it is in COS any more: said to the listener too, so a bar does not stay full.
      expect(loaded.slice(-2)).toEqual([700, 0]);
      expect(task.progress.loaded).toBe(0);
      loaded.length = 0;
      task.resume();
      expect((await task.done).size).toBe(700);
      // Sent again from 0.
      expect(loaded[0]).toBe(0);
      expect(loaded.at(-1)).toBe(700);
      expect(cos.objects.get(key)).toEqual(body);
      expect(cos.find("PUT", `/${key}`)).toHaveLength(2);
    }
  });

  it("a single PUT of a file deleted after COS took it: the resume after a failed confirm does not open the file again, and finishes", async () => {
    const cos = new FakeCos();
    let confirmDown = true;
    cos.intercept = (req) => (confirmDown && req.path === "/v1/objects/confirm" ? { status: 502, body: { error: { code: "CosUnavailable", message: "COS did not answer", requestId: "req-502" } } } : undefined);
    const dir = await mkdtemp(join(tmpdir(), "single-confirm-"));
    try {
      const path = join(dir, "sent.bin");
      const body = bytes(900, 3);
      await writeFile(path, body);
      const task = setup(cos).upload({ key: "users/test/sent.bin", body: { path } });
      await task.done.catch(() => undefined);
      expect(task.state).toBe("failed");
      await rm(path); // moved away once sent: the object on COS is what counts now
      confirmDown = false;
      task.resume();
      expect((await task.done).size).toBe(900);
      expect(cos.objects.get("users/test/sent.bin")).toEqual(body);
      expect(cos.find("PUT", "/users/test/sent.bin")).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a missing body (plain JavaScript callers) fails the task with a TypeError; upload() itself does not throw", async () => {
    const task = setup(new FakeCos()).upload({ key: "users/test/none.bin", body: undefined as never });
    const error = (await task.done.catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain("body must be");
    expect(task.state).toBe("failed");
  });

  it("cancel on a failed task aborts its multipart upload on COS and forgets its checkpoint; done keeps the failure", async () => {
    const cos = new FakeCos();
    cos.intercept = (req) => (req.query.get("partNumber") === "2" ? { status: 400, body: "<Error><Code>InvalidArgument</Code></Error>" } : undefined);
    const store = memoryStore();
    const task = setup(cos, { store }).upload({ key: "users/test/failed.bin", body: bytes(3000, 5) });
    const failure = await task.done.catch((e: unknown) => e);
    expect(task.state).toBe("failed");
    expect(await store.keys("cos-direct:")).toHaveLength(1);
    await task.cancel();
    expect(task.state).toBe("cancelled");
    expect(cos.aborted).toEqual([task.uploadId]);
    expect(cos.uploads.size).toBe(0);
    expect(await store.keys("cos-direct:")).toEqual([]);
    expect(await task.done.catch((e: unknown) => e)).toBe(failure);
  });

  it("a callback or listener that throws does not break the task: done settles, states stay consistent, the error is reported", async () => {
    const reported: unknown[] = [];
    const onUncaught = (error: unknown) => reported.push(error);
    const listeners = process.listeners("uncaughtException");
    process.removeAllListeners("uncaughtException");
    process.on("uncaughtException", onUncaught);
    try {
      const cos = new FakeCos();
      const uploader = setup(cos);
      uploader.on("state", (t) => {
        if (t.state === "done") throw new Error("listener bug");
      });
      const states: TaskState[] = [];
      const task = uploader.upload({
        key: "users/test/cb.bin",
        body: bytes(3000, 6),
        onStateChange: (state) => {
          states.push(state);
          throw new Error(`onStateChange bug in ${state}`);
        },
        onProgress: () => {
          throw new Error("onProgress bug");
        },
      });
      expect((await task.done).size).toBe(3000);
      expect(states).toEqual(["initiating", "uploading", "completing", "done"]);
      expect(task.state).toBe("done");
      await new Promise((r) => setTimeout(r, 10));
      const messages = reported.map((e) => (e as Error).message);
      expect(messages).toContain("listener bug");
      expect(messages).toContain("onStateChange bug in done");
      expect(messages).toContain("onProgress bug");
    } finally {
      process.off("uncaughtException", onUncaught);
      for (const listener of listeners) process.on("uncaughtException", listener);
    }
  });

  it("uploadFiles honours fileParallelLimit and reports each file and the aggregate", async () => {
    const cos = new FakeCos();
    cos.putDelay = 15;
    const uploader = setup(cos, { fileParallelLimit: 2, chunkParallelLimit: 1 });
    let running = 0;
    let peak = 0;
    uploader.on("state", (t) => {
      running = uploader.tasks().filter((x) => ["initiating", "hashing", "uploading", "completing"].includes(x.state)).length;
      peak = Math.max(peak, running);
      void t;
    });
    const finished: string[] = [];
    const aggregate: number[] = [];
    const results = await uploader.uploadFiles(
      Array.from({ length: 5 }, (_, i) => ({ key: `users/test/many-${i}.bin`, body: bytes(2500, 10 + i) })),
      { onFileFinish: (err, result) => finished.push(err ? "error" : result!.key), onProgress: (p) => aggregate.push(p.loaded) },
    );
    expect(results.every((r) => !(r instanceof Error))).toBe(true);
    expect(finished.sort()).toEqual(Array.from({ length: 5 }, (_, i) => `users/test/many-${i}.bin`).sort());
    expect(peak).toBe(2);
    expect(cos.peakInFlight).toBeLessThanOrEqual(2);
    expect(aggregate.at(-1)).toBeGreaterThan(0);
  });

  it("queued tasks report 0 % of their size, so uploadFiles' percent never drops as files start", async () => {
    const cos = new FakeCos();
    cos.putDelay = 5;
    const uploader = setup(cos, { fileParallelLimit: 1, chunkParallelLimit: 1 });
    const percents: number[] = [];
    const bodies: UploadBody[] = [bytes(2500, 20), new Blob([bytes(1500, 21)]), "x".repeat(2000), bytes(0, 22)];
    const running = uploader.uploadFiles(
      bodies.map((body, i) => ({ key: `users/test/agg-${i}.bin`, body })),
      { onProgress: (p) => percents.push(p.percent) },
    );
    const [first, second] = uploader.tasks();
    expect(second.state).toBe("queued");
    expect(second.progress).toMatchObject({ loaded: 0, total: 1500, percent: 0 });
    expect(first.progress.percent).toBe(0);
    await running;
    expect(percents.at(-1)).toBe(100);
    for (let i = 1; i < percents.length; i++) expect(percents[i]).toBeGreaterThanOrEqual(percents[i - 1]);
    expect(uploader.tasks().map((t) => t.progress.percent)).toEqual([100, 100, 100, 100]);
  });
});

describe("listeners that act on a state at once", () => {
  it("a failed task resumed from its own onStateChange settles the new run's done with the result, not the old error", async () => {
    const cos = new FakeCos();
    let refusals = 1;
    cos.intercept = (req) => (req.to === "cos" && refusals-- > 0 ? { status: 400, body: "<Error><Code>InvalidArgument</Code></Error>" } : undefined);
    let resumed = false;
    const task = setup(cos).upload({
      key: "users/test/again.bin",
      body: bytes(100, 41),
      onStateChange: (state, t) => {
        if (state === "failed" && !resumed) {
          resumed = true;
          t.resume();
        }
      },
    });
    await until(() => task.state === "done");
    expect(resumed).toBe(true);
    expect((await task.done).size).toBe(100);
  });

  it("a task that stopped moving reports speed 0 (done: eta 0), so a sum over tasks counts only those uploading", async () => {
    const cos = new FakeCos();
    cos.putDelay = 20;
    const uploader = setup(cos, { fileParallelLimit: 1 });
    // One file at a time: at most one task counts towards the sum's speed at any moment.
    let mostMoving = 0;
    const files = [1, 2, 3].map((n) => ({ key: `users/test/s${n}.bin`, body: bytes(3000, 50 + n) }));
    await uploader.uploadFiles(files, { onProgress: () => (mostMoving = Math.max(mostMoving, uploader.tasks().filter((t) => t.progress.speed > 0).length)) });
    expect(mostMoving).toBe(1);
    for (const task of uploader.tasks()) expect([task.progress.speed, task.progress.eta]).toEqual([0, 0]);
  });
});

describe("finished tasks stay listed, their bytes do not", () => {
  it("uploader.tasks() keeps a done or cancelled task, but not its body", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const cos = new FakeCos();
    const uploader = setup(cos);
    const refs: WeakRef<object>[] = [];
    await (async () => {
      const done = { key: "users/test/kept.bin", body: bytes(64 * 1024, 61) };
      refs.push(new WeakRef(done.body));
      await uploader.upload(done).done;
      const cancelled = { key: "users/test/dropped.bin", body: bytes(3000, 62) };
      refs.push(new WeakRef(cancelled.body));
      cos.putDelay = 50;
      const task = uploader.upload(cancelled);
      await task.cancel();
    })();
    expect(uploader.tasks().map((t) => t.state)).toEqual(["done", "cancelled"]);
    // The fake keeps what it received (its log, the stored object): only the uploader may hold on now.
    cos.log.length = 0;
    cos.objects.clear();
    for (let i = 0; i < 5 && refs.some((r) => r.deref()); i++) {
      await new Promise((r) => setTimeout(r, 20));
      gc();
    }
    expect(refs.map((r) => r.deref() === undefined)).toEqual([true, true]);
  });

  it("uploadFiles' tasks do not keep the files' bodies either", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const cos = new FakeCos();
    const uploader = setup(cos);
    let ref!: WeakRef<object>;
    await (async () => {
      const body = bytes(5000, 63);
      ref = new WeakRef(body);
      await uploader.uploadFiles([{ key: "users/test/f.bin", body, onProgress: () => {} }], { onProgress: () => {} });
    })();
    cos.log.length = 0;
    cos.objects.clear();
    for (let i = 0; i < 5 && ref.deref(); i++) {
      await new Promise((r) => setTimeout(r, 20));
      gc();
    }
    expect(ref.deref()).toBeUndefined();
  });
});

describe("state announcements", () => {
  it("every state listener hears 'failed' even when the task's own onStateChange resumes it at once", async () => {
    const cos = new FakeCos();
    let refusals = 1;
    cos.intercept = (req) => (req.to === "cos" && refusals-- > 0 ? { status: 400, body: "<Error><Code>InvalidArgument</Code></Error>" } : undefined);
    const uploader = setup(cos);
    const heard: TaskState[] = [];
    uploader.on("state", (t) => heard.push(t.state));
    let resumed = false;
    const task = uploader.upload({ key: "users/test/heard.bin", body: bytes(100, 64), onStateChange: (state, t) => state === "failed" && !resumed && ((resumed = true), t.resume()) });
    await until(() => task.state === "done");
    expect(heard.slice(heard.indexOf("failed"), heard.indexOf("failed") + 2)).toEqual(["failed", "queued"]);
    expect(heard.at(-1)).toBe("done");
  });

  it("pause() and cancel() from a state listener: every listener hears that state first, then the next, in order", async () => {
    const cos = new FakeCos();
    cos.putDelay = 10;
    const uploader = setup(cos);
    const heard: TaskState[] = [];
    uploader.on("state", (t) => heard.push(t.state));
    const task = uploader.upload({ key: "users/test/order.bin", body: bytes(3000, 65), onStateChange: (state, t) => state === "uploading" && t.pause() });
    await until(() => task.state === "paused");
    expect(heard).toEqual(["initiating", "uploading", "paused"]);

    cos.intercept = (req) => (req.to === "cos" ? { status: 400, body: "<Error><Code>InvalidArgument</Code></Error>" } : undefined);
    const failing = uploader.upload({ key: "users/test/order2.bin", body: bytes(100, 66), onStateChange: (state, t) => state === "failed" && void t.cancel() });
    await failing.done.catch(() => undefined);
    await until(() => failing.state === "cancelled");
    expect(heard.slice(-3)).toEqual(["uploading", "failed", "cancelled"]);
  });

  it("a part answering in the same tick as pause does not bring the paused task's speed back", async () => {
    const cos = new FakeCos();
    cos.putDelay = 10;
    let task: ReturnType<ReturnType<typeof setup>["upload"]> | undefined;
    let answered = 0;
    // Part 2's answer is in hand, and the pause runs before the engine gets to handle it.
    const stack: HttpStack = {
      ...cos.stack,
      async send(request) {
        const response = await cos.stack.send(request);
        if (request.url.includes("partNumber=") && ++answered === 2) queueMicrotask(() => task!.pause());
        return response;
      },
    };
    const uploader = setup(cos, { chunkParallelLimit: 1, httpStack: stack });
    task = uploader.upload({ key: "users/test/p.bin", body: bytes(10_000, 65) });
    const moving: number[] = [];
    await until(() => task!.state === "paused", "the pause");
    uploader.on("progress", (t) => t === task && moving.push(t.progress.speed));
    await new Promise((r) => setTimeout(r, 50));
    expect(task.state).toBe("paused");
    expect(task.progress.speed).toBe(0);
    expect(moving).toEqual([]);
  });
});
