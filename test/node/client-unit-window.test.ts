// The sliding window of signed part URLs (client/window.ts): batches ahead of use, URLs re-signed
// before they expire judged by the server's clock (Date header), and a 403 "Request has expired"
// answered by signing again, not by failing or waiting out a backoff.

import { describe, expect, it } from "vitest";
import { Api } from "../../client/api";
import { Queue } from "../../client/queue";
import { PartUrlWindow } from "../../client/window";
import { createUploader } from "../../client/node";
import { bytes } from "../shared/bytes";
import { FakeCos } from "./client-fake";

const fast = { attempts: 4, baseDelay: 1, maxDelay: 2 };
const setup = (cos: FakeCos, extra = {}) => createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, retry: fast, ...extra });
const expired403 = (cos: FakeCos) => cos.expiredRefused;

describe("signed part URLs", () => {
  it("signs in batches ahead of the parts, each part once, before it is sent", async () => {
    const cos = new FakeCos();
    const body = bytes(40 * 1024, 5);
    await setup(cos, { chunkParallelLimit: 2 }).upload({ key: "users/test/w.bin", body }).done;
    const batches = cos.find("POST", /\/parts$/);
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.length).toBeLessThanOrEqual(5);
    expect(batches[0].json.parts.length).toBe(8);
    expect(cos.signedParts().sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    // Every PUT came after the batch that signed it.
    for (const n of cos.partPuts()) {
      const put = cos.log.findIndex((r) => r.to === "cos" && r.query.get("partNumber") === String(n));
      const signed = cos.log.findIndex((r) => r.path.endsWith("/parts") && r.method === "POST" && r.json.parts.some((p: { partNumber: number }) => p.partNumber === n));
      expect(signed).toBeLessThan(put);
    }
    // The next batch was asked for before the window ran dry: no PUT ever waited on an empty window
    // at the start of a batch except the first.
    expect(cos.log.filter((r) => r.to === "api")[1].path).toMatch(/\/parts$/);
  });

  it("a chunkParallelLimit above 250 never asks for more than the functions' 1000 parts in one signing call", async () => {
    const cos = new FakeCos();
    await setup(cos, { chunkParallelLimit: 300 }).upload({ key: "users/test/wide.bin", body: bytes(1500 * 1024, 7) }).done;
    const batches = cos.find("POST", /\/parts$/).map((r) => r.json.parts.length);
    expect(Math.max(...batches)).toBe(1000);
    expect(cos.signedParts().sort((a, b) => a - b)).toEqual(Array.from({ length: 1500 }, (_, i) => i + 1));
  });

  it("the part workers share the first signing call: one batch of parts 1-16 before any PUT", async () => {
    const cos = new FakeCos();
    await setup(cos, { chunkParallelLimit: 4 }).upload({ key: "users/test/w4.bin", body: bytes(40 * 1024, 6) }).done;
    const firstPut = cos.log.findIndex((r) => r.to === "cos");
    const before = cos.log.slice(0, firstPut).filter((r) => r.method === "POST" && r.path.endsWith("/parts"));
    expect(before.map((r) => r.json.parts.map((p: { partNumber: number }) => p.partNumber))).toEqual([Array.from({ length: 16 }, (_, i) => i + 1)]);
    expect(cos.signedParts().sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it("uses the server's clock from Date: a device clock 10 minutes ahead does not think 5-minute URLs expired", async () => {
    const cos = new FakeCos();
    cos.skew = -10 * 60_000; // the server is 10 minutes behind the device
    cos.urlLifetime = 5 * 60_000;
    const body = bytes(10 * 1024, 6);
    const result = await setup(cos).upload({ key: "users/test/skew.bin", body }).done;
    expect(result.size).toBe(body.length);
    expect(cos.signedParts()).toHaveLength(10);
    expect(expired403(cos)).toBe(0);
  });

  it("re-signs a URL about to expire before sending it (no 403 reaches COS)", async () => {
    const cos = new FakeCos();
    // Parts go one after another every ~500 ms; the 6th would reach COS ~100 ms after its URL
    // expired unless the window signs it again first (it keeps a quarter of the lifetime spare).
    cos.urlLifetime = 2200;
    cos.putDelay = 200;
    cos.latency = 300;
    const body = bytes(6 * 1024, 7);
    const result = await setup(cos, { chunkParallelLimit: 1 }).upload({ key: "users/test/short.bin", body }).done;
    expect(result.size).toBe(body.length);
    expect(expired403(cos)).toBe(0);
    // Parts signed in the first batch but sent after their URL aged were signed again.
    expect(cos.signedParts().length).toBeGreaterThan(6);
  });

  it("a 403 Request has expired signs that part again and retries at once", async () => {
    const cos = new FakeCos();
    let once = true;
    cos.intercept = (req) => {
      if (req.to === "cos" && req.query.get("partNumber") === "2" && once) {
        once = false;
        return { status: 403, body: "<Error><Code>AccessDenied</Code><Message>Request has expired</Message><RequestId>req-x</RequestId></Error>" };
      }
      return undefined;
    };
    const result = await setup(cos, { retry: { attempts: 3, baseDelay: 60_000, maxDelay: 60_000 } }).upload({ key: "users/test/exp.bin", body: bytes(3000, 8) }).done;
    expect(result.size).toBe(3000);
    expect(cos.signedParts().filter((n) => n === 2)).toHaveLength(2);
    // Signed again after the 403, not waited out: a backoff would have taken 60 s.
    const sign2 = cos.log.filter((r) => r.method === "POST" && r.path.endsWith("/parts") && r.json.parts.some((p: { partNumber: number }) => p.partNumber === 2));
    expect(sign2[1].json.parts.map((p: { partNumber: number }) => p.partNumber)).toContain(2);
  });

  it("with a per-part MD5 hasher each part is signed with its digest", async () => {
    const cos = new FakeCos();
    const md5 = async (b: Uint8Array) => `md5-of-${b.length}`;
    await setup(cos, { integrity: { md5 } }).upload({ key: "users/test/md5.bin", body: bytes(2500, 9) }).done;
    const signs = cos.find("POST", /\/parts$/);
    expect(signs).toHaveLength(3);
    expect(signs.map((r) => r.json.parts[0].md5).sort()).toEqual(["md5-of-1024", "md5-of-1024", "md5-of-452"]);
  });
});

describe("the single PUT's URL", () => {
  it("expired (403 Request has expired) is planned again for the same key, then sent", async () => {
    const cos = new FakeCos();
    let once = true;
    cos.intercept = (req) => {
      if (req.to === "cos" && once) {
        once = false;
        return { status: 403, body: "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>" };
      }
      return undefined;
    };
    const result = await setup(cos).upload({ filename: "note.txt", body: "hello" }).done;
    const plans = cos.find("POST", "/v1/uploads");
    expect(plans).toHaveLength(2);
    expect(plans[1].json).toMatchObject({ key: result.key, size: 5 });
    expect(plans[1].json.filename).toBeUndefined();
    expect(cos.objects.get(result.key)).toEqual(new TextEncoder().encode("hello"));
  });
});

describe("server clock from Date", () => {
  it("keeps the tightest bounds the whole-second Date headers allow and judges by the later one", () => {
    const api = new Api({ endpoint: "https://api.test" });
    // Server 5.3 s ahead: Date (whole seconds) read between send and receipt.
    api.observeDate(Date.UTC(2026, 0, 1, 0, 0, 5), Date.UTC(2026, 0, 1) - 300, Date.UTC(2026, 0, 1) - 200);
    expect(api.skew).toBe(6300);
    // Read when the server's clock was just short of a whole second: the upper bound tightens.
    api.observeDate(Date.UTC(2026, 0, 1, 0, 0, 5), Date.UTC(2026, 0, 1) + 640, Date.UTC(2026, 0, 1) + 660);
    expect(api.skew).toBe(5360);
    // The device clock jumped an hour: start again from the new answer.
    api.observeDate(Date.UTC(2026, 0, 1, 0, 0, 7), Date.UTC(2026, 0, 1) + 3_600_000, Date.UTC(2026, 0, 1) + 3_600_100);
    expect(api.skew).toBe(7000 + 1000 - 3_600_000);
  });
});

describe("PartUrlWindow", () => {
  it("hands out a signed URL while a quarter of its lifetime is left, and signs again after that", async () => {
    let now = 1_000_000;
    const calls: number[][] = [];
    const api = {
      serverNow: () => now,
      signParts: async (_ref: unknown, parts: { partNumber: number }[]) => {
        calls.push(parts.map((p) => p.partNumber));
        return parts.map(({ partNumber }) => ({ partNumber, size: 1, url: `u${partNumber}@${now}`, headers: {}, expiresAt: new Date(now + 1000).toISOString() }));
      },
    } as unknown as Api;
    const todo = [2, 3, 4];
    const window = new PartUrlWindow({ api, ref: { uploadId: "u", token: "t" }, queue: new Queue({ fileParallelLimit: 1, chunkParallelLimit: 1 }), upcoming: () => todo, batch: 2, lowWater: 0, retry: (fn) => fn() });
    const first = await window.get(1);
    expect(first.url).toBe("u1@1000000");
    expect(calls).toEqual([[1, 2]]);
    now += 700; // 300 ms left of 1000: still fresh (margin 250)
    expect((await window.get(2)).url).toBe("u2@1000000");
    now += 100; // 200 ms left: signed again before use
    expect((await window.get(2)).url).toBe("u2@1000800");
    expect(calls).toEqual([[1, 2], [2, 3]]);
    expect(window.isFresh(first)).toBe(false);
  });
});
