// The uploader's object calls besides upload: append (presigned APPEND at a position, the next
// position from COS or, when CORS hides it, from what was sent), downloadUrl, events.

import { describe, expect, it } from "vitest";
import { createUploader, isHttpError } from "../../client/node";
import type { UploadTask } from "../../client/types";
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
