// Progress (client/progress.ts): loaded is monotonic, never above total, takes back a failed part's
// bytes in flight (the report holds until new bytes pass it), speed is smoothed, eta follows.

import { describe, expect, it } from "vitest";
import { createUploader } from "../../client/node";
import { ProgressMeter } from "../../client/progress";
import type { Progress } from "../../client/types";
import { bytes } from "../shared/bytes";
import { FakeCos } from "./client-fake";

describe("ProgressMeter", () => {
  it("counts accepted plus in-flight bytes, takes a failed part's bytes back, never reports less", () => {
    let now = 0;
    const meter = new ProgressMeter(1000, () => now);
    meter.sending(1, 300);
    meter.sending(2, 200);
    now = 100;
    expect(meter.snapshot().loaded).toBe(500);
    meter.drop(2);
    expect(meter.current).toBe(300);
    now = 200;
    expect(meter.snapshot().loaded).toBe(500);
    meter.accept(1, 400);
    meter.sending(2, 50);
    now = 300;
    expect(meter.snapshot().loaded).toBe(500);
    meter.sending(2, 300);
    now = 400;
    expect(meter.snapshot().loaded).toBe(700);
    meter.sending(3, 10_000);
    expect(meter.snapshot().loaded).toBe(1000);
    meter.finish();
    expect(meter.snapshot()).toMatchObject({ loaded: 1000, total: 1000, percent: 100, eta: 0 });
  });

  it("smooths speed (EWMA) and derives eta from it", () => {
    let now = 0;
    const meter = new ProgressMeter(10_000, () => now);
    meter.sending(1, 1000);
    now = 1000;
    const first = meter.snapshot();
    expect(first.speed).toBe(1000);
    expect(first.eta).toBe(9);
    // A burst moves the average only part of the way.
    meter.sending(1, 5000);
    now = 1100;
    const second = meter.snapshot();
    expect(second.speed).toBeGreaterThan(1000);
    expect(second.speed).toBeLessThan(40_000);
    expect(second.percent).toBe(50);
  });

  it("a resumed upload starts from the bytes already in COS", () => {
    const meter = new ProgressMeter(1000, () => 0);
    meter.start(600);
    expect(meter.snapshot().loaded).toBe(600);
  });
});

describe("progress of an upload", () => {
  it("never goes down, ends at total, even when a part fails halfway and is sent again", async () => {
    const cos = new FakeCos();
    cos.putDelay = 5; // reports half the part, then the rest
    let fail = true;
    cos.intercept = (req) => {
      if (req.to === "cos" && req.query.get("partNumber") === "2" && fail) {
        fail = false;
        req.onUploadProgress?.(800);
        return new TypeError("socket hang up");
      }
      return undefined;
    };
    const reports: Progress[] = [];
    const uploader = createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, chunkParallelLimit: 1, retry: { attempts: 3, baseDelay: 1, maxDelay: 1 } });
    const task = uploader.upload({ key: "users/test/prog.bin", body: bytes(3000, 40), onProgress: (p) => reports.push(p) });
    await task.done;
    expect(reports.length).toBeGreaterThan(2);
    for (let i = 1; i < reports.length; i++) expect(reports[i].loaded).toBeGreaterThanOrEqual(reports[i - 1].loaded);
    for (const r of reports) expect(r.loaded).toBeLessThanOrEqual(3000);
    expect(reports.at(-1)).toMatchObject({ loaded: 3000, total: 3000, percent: 100 });
    expect(task.progress.loaded).toBe(3000);
  });

  it("counts only accepted bytes once parts settle: a paused upload reports what COS holds plus the high-water mark", async () => {
    const meter = new ProgressMeter(3000, () => 0);
    meter.accept(1, 1024);
    meter.sending(2, 900);
    meter.snapshot();
    meter.drop(2); // paused: part 2 aborted
    expect(meter.current).toBe(1024);
    expect(meter.snapshot().loaded).toBe(1924);
  });
});
