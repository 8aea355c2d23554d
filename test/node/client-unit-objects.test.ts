// The uploader's object calls besides upload: append (presigned APPEND at a position, the next
// position from COS or, when CORS hides it, from what was sent), downloadUrl, events.

import { describe, expect, it } from "vitest";
import { createUploader, isHttpError, isNetworkError } from "../../client/node";
import type { HttpStack, UploadTask } from "../../client/types";
import { bytes } from "../shared/bytes";
import { FakeCos } from "./client-fake";

const setup = (cos: FakeCos) => createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, retry: { attempts: 2, baseDelay: 1, maxDelay: 1 } });

describe("append and downloadUrl", () => {
  it("appends at a position and returns the next one, from COS or computed when the header is hidden", async () => {
    const cos = new FakeCos();
    const uploader = setup(cos);
    const first = await uploader.append("users/test/log.txt", "hello ", { position: 0 });
    expect(first.nextPosition).toBe(6);
    expect(cos.find("POST", "/v1/objects/append")[0].json).toMatchObject({ key: "users/test/log.txt", position: 0, size: 6 });
    cos.hidden.add("x-cos-next-append-position");
    const second = await uploader.append("users/test/log.txt", new TextEncoder().encode("world"), { position: first.nextPosition });
    expect(second.nextPosition).toBe(11);
    expect(new TextDecoder().decode(cos.objects.get("users/test/log.txt"))).toBe("hello world");
    const error = await uploader.append("users/test/log.txt", "x", { position: 3 }).catch((e: unknown) => e);
    expect(isHttpError(error) && error.code).toBe("PositionNotEqualToLength");
  });

  it("an APPEND through a stack that learns progress only from the answer waits as long as its bytes take at a slow link's rate", async () => {
    const cos = new FakeCos();
    cos.putDelay = 150; // three times the stall timeout, before the answer
    const answerOnly: HttpStack = { send: cos.stack.send, reportsProgress: () => false };
    const uploader = createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: answerOnly, stallTimeout: 50, retry: { attempts: 2, baseDelay: 1, maxDelay: 1 } });
    const body = bytes(8192, 31); // 0.5 s at 16 KiB/s
    expect((await uploader.append("users/test/slow.log", body, { position: 0 })).nextPosition).toBe(8192);
    expect(cos.log.filter((r) => r.to === "cos")).toHaveLength(1);
    expect(cos.objects.get("users/test/slow.log")).toEqual(body);
  });

  it("an APPEND the transport aborts on its own (the browser dropping the XHR) is a NetworkError naming it, sent once", async () => {
    const cos = new FakeCos();
    let sends = 0;
    const dropping: HttpStack = {
      send: async () => {
        sends++;
        throw Object.assign(new Error("aborted"), { name: "AbortError" });
      },
    };
    const uploader = createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: dropping, retry: { attempts: 3, baseDelay: 1, maxDelay: 1 } });
    const error = (await uploader.append("users/test/drop.log", "abc", { position: 0 }).catch((e: unknown) => e)) as Error;
    expect(isNetworkError(error)).toBe(true);
    expect(error.message).toContain("POST");
    expect(sends).toBe(1);
  });

  it("an APPEND that gets no answer is not sent again (COS may have appended), a stalled one ends, and a signal aborts it", async () => {
    const cos = new FakeCos();
    const uploader = createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, stallTimeout: 50, retry: { attempts: 3, baseDelay: 1, maxDelay: 1 } });
    let lost = 1;
    cos.intercept = (req) => (req.to === "cos" && lost-- > 0 ? new TypeError("socket hang up") : undefined);
    const error = (await uploader.append("users/test/once.log", "abc", { position: 0 }).catch((e: unknown) => e)) as Error;
    expect(error.name).toBe("NetworkError");
    expect(cos.log.filter((r) => r.to === "cos")).toHaveLength(1);
    // A 503 is retried: COS did not append.
    let busy = 1;
    cos.intercept = (req) => (req.to === "cos" && busy-- > 0 ? { status: 503, body: "<Error><Code>SlowDown</Code></Error>" } : undefined);
    expect((await uploader.append("users/test/once.log", "abc", { position: 0 })).nextPosition).toBe(3);
    cos.intercept = (req) => (req.to === "cos" ? "hang" : undefined);
    const stalled = (await uploader.append("users/test/once.log", "d", { position: 3 }).catch((e: unknown) => e)) as Error;
    expect(stalled.message).toContain("no progress for 50 ms");
    const controller = new AbortController();
    const pending = uploader.append("users/test/once.log", "d", { position: 3, signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    expect(await pending.catch((e: unknown) => (e as Error).name)).toBe("AbortError");
  });

  it("an APPEND refused because its URL expired is signed again, not sent again as it was", async () => {
    const cos = new FakeCos();
    const uploader = setup(cos);
    let expired = 1;
    cos.intercept = (req) => (req.to === "cos" && expired-- > 0 ? { status: 403, body: "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>" } : undefined);
    expect((await uploader.append("users/test/late.log", "abc", { position: 0 })).nextPosition).toBe(3);
    const sent = cos.log.filter((r) => r.to === "cos");
    expect(sent).toHaveLength(2);
    expect(cos.find("POST", "/v1/objects/append")).toHaveLength(2);
    expect(new TextDecoder().decode(cos.objects.get("users/test/late.log"))).toBe("abc");
  });

  it("downloadUrl returns the presigned GET", async () => {
    const cos = new FakeCos();
    const url = await setup(cos).downloadUrl("users/test/a.bin", { filename: "a.bin" });
    expect(url).toMatch(/^https:\/\/bucket\.cos\.test\/users\/test\/a\.bin\?/);
    expect(cos.find("POST", "/v1/objects/download")[0].json).toEqual({ key: "users/test/a.bin", filename: "a.bin" });
  });
});

describe("events", () => {
  it("list-update on new tasks and state changes, state, progress; the unsubscribe works", async () => {
    const cos = new FakeCos();
    const uploader = setup(cos);
    const seen: string[] = [];
    const off = uploader.on("list-update", (t: UploadTask) => seen.push(`list:${t.state}`));
    uploader.on("state", (t) => seen.push(`state:${t.state}`));
    uploader.on("progress", () => seen.push("progress"));
    const task = uploader.upload({ key: "users/test/e.txt", body: "abc" });
    await task.done;
    expect(seen[0]).toBe("list:queued");
    expect(seen).toContain("state:done");
    expect(seen).toContain("list:done");
    expect(seen).toContain("progress");
    expect(uploader.tasks()).toEqual([task]);
    off();
    const before = seen.filter((s) => s.startsWith("list")).length;
    await uploader.upload({ key: "users/test/e2.txt", body: "abc" }).done;
    expect(seen.filter((s) => s.startsWith("list")).length).toBe(before);
  });
});
