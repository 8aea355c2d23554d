// sliceSize decides single PUT vs parts on the client's side, within the functions' threshold.
import { describe, expect, it } from "vitest";
import { createUploader } from "../../client/node";
import { bytes } from "../shared/bytes";
import { MiB, sha256, useClientHarness } from "./client-harness";

const harness = useClientHarness();

describe("sliceSize", () => {
  it("uploads a body above sliceSize in parts even when the functions would take it whole", async () => {
    const h = harness();
    const uploader = createUploader({ endpoint: h.endpoint, getToken: h.getToken(), sliceSize: 256 * 1024 });
    const body = bytes(700 * 1024, 5);
    const task = uploader.upload({ key: "users/alice/slice/parts.bin", body });
    const result = await task.done;
    expect(task.uploadId).toMatch(/\S/);
    expect(result.etag).toMatch(/-1"$/);
    expect(sha256(await h.readBack(result.key))).toBe(sha256(body));

    const whole = uploader.upload({ key: "users/alice/slice/whole.bin", body: bytes(200 * 1024, 6) });
    const single = await whole.done;
    expect(whole.uploadId).toBeUndefined();
    expect(single.etag).not.toContain("-");
  });
});
