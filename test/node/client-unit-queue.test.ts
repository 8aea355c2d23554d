// The queue (client/queue.ts): file and per-file part limits, priority order (part bytes, then
// complete/abort, then signing, then new uploads), and concurrency lowered on 429/503 then raised.

import { describe, expect, it } from "vitest";
import { createUploader as createBrowserUploader } from "../../client/index";
import { createUploader, memoryStore } from "../../client/node";
import { Priority, Queue } from "../../client/queue";
import { bytes } from "../shared/bytes";
import { FakeCos } from "./client-fake";

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("Queue", () => {
  it("with maxPuts, holds PUTs past it over every file, while API calls go ahead", async () => {
    const queue = new Queue({ fileParallelLimit: 3, chunkParallelLimit: 3, maxPuts: 4 });
    const releases: (() => void)[] = [];
    const puts = ["a", "b", "c"].flatMap((fileId) => [1, 2, 3].map(() => queue.run(Priority.partBytes, () => new Promise<void>((r) => releases.push(r)), { fileId })));
    await tick();
    expect(releases).toHaveLength(4);
    let signed = false;
    await queue.run(Priority.signing, async () => void (signed = true));
    expect(signed).toBe(true);
    while (releases.length) {
      releases.shift()!();
      await tick();
    }
    await Promise.all(puts);
    expect(queue.peakPuts).toBe(4);
  });

  it("many parts in flight in Node print no MaxListenersExceededWarning (a listener per part on the task's signals)", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on("warning", onWarning);
    try {
      const cos = new FakeCos();
      cos.putDelay = 5;
      await createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, chunkParallelLimit: 16 }).upload({ key: "users/test/many.bin", body: bytes(40 * 1024, 9) }).done;
      expect(cos.peakInFlight).toBeGreaterThan(10);
      await new Promise((r) => setTimeout(r, 20)); // warnings are emitted on the next tick
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings).not.toContain("MaxListenersExceededWarning");
  });

  it("the browser entry sends at most 6 PUTs at once (HTTP/1.1's connections per host), the rest wait in the queue, not unseen in the browser's", async () => {
    const cos = new FakeCos();
    cos.putDelay = 30;
    const uploader = createBrowserUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, store: memoryStore() });
    const tasks = [1, 2, 3].map((n) => uploader.upload({ key: `users/test/six-${n}.bin`, body: bytes(4 * 1024, n) }));
    await Promise.all(tasks.map((t) => t.done));
    expect(cos.peakInFlight).toBe(6);
  });

  it("starts waiting requests by priority, then in arrival order", async () => {
    const queue = new Queue({ fileParallelLimit: 1, chunkParallelLimit: 1 });
    queue.limit = 1;
    const order: string[] = [];
    let release!: () => void;
    const blocker = queue.run(Priority.signing, () => new Promise<void>((r) => (release = r)));
    const jobs = [
      queue.run(Priority.newUpload, async () => void order.push("new upload")),
      queue.run(Priority.signing, async () => void order.push("signing")),
      queue.run(Priority.partBytes, async () => void order.push("part 1"), { fileId: "a" }),
      queue.run(Priority.completeAbort, async () => void order.push("complete")),
      queue.run(Priority.partBytes, async () => void order.push("part 2"), { fileId: "b" }),
    ];
    await tick();
    expect(order).toEqual([]);
    release();
    await Promise.all([blocker, ...jobs]);
    expect(order).toEqual(["part 1", "part 2", "complete", "signing", "new upload"]);
  });

  it("never runs more than chunkParallelLimit parts of one file, while other files' parts go ahead", async () => {
    const queue = new Queue({ fileParallelLimit: 2, chunkParallelLimit: 2 });
    let running = 0;
    let peakA = 0;
    const job = (file: string) => queue.run(Priority.partBytes, async () => {
      if (file === "a") peakA = Math.max(peakA, ++running);
      await new Promise((r) => setTimeout(r, 5));
      if (file === "a") running--;
    }, { fileId: file });
    await Promise.all([job("a"), job("a"), job("a"), job("a"), job("b"), job("b")]);
    expect(peakA).toBe(2);
    expect(queue.peakParts).toBe(2);
  });

  it("holds file slots to fileParallelLimit; an aborted wait leaves the queue", async () => {
    const queue = new Queue({ fileParallelLimit: 2, chunkParallelLimit: 1 });
    const r1 = await queue.acquireFile();
    await queue.acquireFile();
    const controller = new AbortController();
    const third = queue.acquireFile(controller.signal);
    const fourth = queue.acquireFile();
    controller.abort();
    await expect(third).rejects.toMatchObject({ name: "AbortError" });
    r1();
    r1(); // releasing twice gives back one slot only
    await fourth;
    expect(queue.peakFiles).toBe(2);
  });

  it("halves the request limit on throttling (once per burst) and raises it back one step per run of successes", () => {
    let now = 0;
    const queue = new Queue({ fileParallelLimit: 2, chunkParallelLimit: 3 }, () => now);
    expect(queue.limit).toBe(8);
    expect(queue.chunkLimit).toBe(3);
    queue.throttle();
    expect(queue.limit).toBe(4);
    // The other requests of the same burst answer 503 too: one halving, not one per answer.
    for (let i = 0; i < 5; i++) queue.throttle();
    expect(queue.limit).toBe(4);
    for (let i = 0; i < 3; i++) {
      now += 1000;
      queue.throttle();
    }
    expect(queue.limit).toBe(1);
    expect(queue.chunkLimit).toBe(1);
    queue.succeeded();
    expect(queue.limit).toBe(2);
    for (let i = 0; i < 2; i++) queue.succeeded();
    expect(queue.limit).toBe(3);
    for (let i = 0; i < 100; i++) queue.succeeded();
    expect(queue.limit).toBe(8);
  });

  it("any request that succeeds through the queue (an API call, a single PUT) counts towards raising the limit back", async () => {
    let now = 0;
    const queue = new Queue({ fileParallelLimit: 2, chunkParallelLimit: 3 }, () => now);
    queue.throttle();
    expect(queue.limit).toBe(4);
    for (let i = 0; i < 4; i++) await queue.run(Priority.signing, async () => "ok");
    expect(queue.limit).toBe(5);
    await queue.run(Priority.signing, async () => Promise.reject(new Error("503"))).catch(() => undefined);
    expect(queue.limit).toBe(5);
  });
});

describe("concurrency of an upload", () => {
  it("chunkParallelLimit bounds the part PUTs in flight for one file", async () => {
    const cos = new FakeCos();
    cos.putDelay = 10;
    const uploader = createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, chunkParallelLimit: 3 });
    await uploader.upload({ key: "users/test/c.bin", body: bytes(12 * 1024, 30) }).done;
    expect(cos.peakInFlight).toBe(3);
  });

  it("429s lower the parts in flight, which then climb back to chunkParallelLimit", async () => {
    const cos = new FakeCos();
    cos.putDelay = 10;
    let throttled = 6;
    const seen: number[] = [];
    cos.intercept = (req) => {
      if (req.to !== "cos") return undefined;
      if (throttled-- > 0) return { status: 429, body: "<Error><Code>TooManyRequests</Code></Error>" };
      seen.push(cos.inFlight + 1);
      return undefined;
    };
    const uploader = createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, chunkParallelLimit: 4, fileParallelLimit: 1, retry: { attempts: 6, baseDelay: 1, maxDelay: 5 } });
    await uploader.upload({ key: "users/test/t.bin", body: bytes(30 * 1024, 31) }).done;
    // Right after the 429s, one part at a time; later back to four.
    expect(Math.max(...seen.slice(0, 3))).toBeLessThanOrEqual(2);
    expect(Math.max(...seen)).toBe(4);
  });
});
