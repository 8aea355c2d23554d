// The stale-upload sweeper (issue 3, Workers `scheduled`): uploads older than STALE_UPLOAD_HOURS
// are aborted on COS, newer ones stay.
import { afterEach, describe, expect, it, vi } from "vitest";
import { CosClient } from "../../functions/cos/client";
import worker from "../../functions/index";
import { abortStaleUploads, SWEEP_SKIPPED, sweepPrefix } from "../../functions/sweeper";
import { cos, credentials, injectFault, target, testEnv, uploadIdsInCos } from "./api-helpers";

afterEach(() => vi.restoreAllMocks());

const prefix = "users/sw-sweeper/";

/**
 * Other test files run against the same cos-local at the same time: this client lets the sweeper's
 * aborts reach cos-local only under `prefix`, records any other (there must be none: it lists only
 * its prefix), and answers those as COS would (204) without sending them.
 */
const abortedOutside: string[] = [];
const confined = new CosClient({
  credentials,
  target,
  fetch: async (input, init) => {
    const request = new Request(input, init);
    const mine = new URL(request.url).pathname.startsWith(`/${target.bucket}/${prefix}`);
    if (request.method === "DELETE" && !mine) {
      abortedOutside.push(request.url);
      return new Response(null, { status: 204 });
    }
    return fetch(request);
  },
});

async function initiated(key: string): Promise<{ uploadId: string; at: number }> {
  const { uploadId } = await cos.initiateMultipartUpload(key);
  const listed = (await cos.listMultipartUploads({ prefix: key })).uploads.find((u) => u.uploadId === uploadId)!;
  return { uploadId, at: Date.parse(listed.initiated) };
}

describe("abortStaleUploads", () => {
  it("aborts uploads initiated before the cutoff and keeps the newer ones", async () => {
    const old = await initiated(`${prefix}old/a.bin`);
    const failing = await initiated(`${prefix}old/fails.bin`);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const recent = await initiated(`${prefix}new/b.bin`);
    expect(recent.at).toBeGreaterThan(Math.max(old.at, failing.at));
    await injectFault({ kind: "500", method: "DELETE", path: `${prefix}old/fails.bin` });

    // A clock one hour after `recent` began, with a 1-hour limit: the cutoff is `recent` itself.
    const errors: string[] = [];
    vi.spyOn(console, "error").mockImplementation((...args) => void errors.push(args.join(" ")));
    const result = await abortStaleUploads(confined, 1, recent.at + 3600_000, prefix);

    expect(result.aborted).toContain(old.uploadId);
    expect(result.failed).toContain(failing.uploadId);
    expect([...result.aborted, ...result.failed]).not.toContain(recent.uploadId);
    expect(errors.join("\n")).toContain(failing.uploadId);
    expect(errors.join("\n")).not.toContain(testEnv.COS_SECRET_KEY);
    expect((await uploadIdsInCos(prefix)).sort()).toEqual([failing.uploadId, recent.uploadId].sort());
    await cos.abortMultipartUpload(`${prefix}old/fails.bin`, failing.uploadId);
  });

  it("touches only the app's keys: another tool's stale upload elsewhere in the bucket stays", async () => {
    const other = await initiated("backups/sw-db.tar");
    await new Promise((resolve) => setTimeout(resolve, 5));
    const mine = await initiated(`${prefix}old/mine.bin`);
    const result = await abortStaleUploads(confined, 1, Math.max(other.at, mine.at) + 3600_000 + 1, sweepPrefix("users/{sub}/")!);
    expect(result.aborted).toContain(mine.uploadId);
    expect(result.aborted).not.toContain(other.uploadId);
    expect(abortedOutside.filter((url) => url.includes("backups/"))).toEqual([]);
    expect(await uploadIdsInCos("backups/sw-db.tar")).toEqual([other.uploadId]);
    await cos.abortMultipartUpload("backups/sw-db.tar", other.uploadId);
    expect(sweepPrefix("users/{sub}/")).toBe("users/");
    expect(sweepPrefix("apps/photos/{sub}/in/")).toBe("apps/photos/");
  });

  it("has no prefix to sweep when KEY_PREFIX has no fixed start: null, never the whole bucket's \"\"", () => {
    expect(sweepPrefix("{sub}/")).toBeNull();
    expect(sweepPrefix("{sub}/uploads/")).toBeNull();
    expect(sweepPrefix("")).toBeNull();
  });
});

describe("scheduled (Workers entry)", () => {
  function fakeContext() {
    const waiting: Promise<unknown>[] = [];
    return { waiting, ctx: { waitUntil: (p: Promise<unknown>) => void waiting.push(p) } };
  }

  it("sweeps in waitUntil with STALE_UPLOAD_HOURS from the env; a fresh upload stays", async () => {
    const fresh = await initiated(`${prefix}scheduled/fresh.bin`);
    const logs: string[] = [];
    vi.spyOn(console, "log").mockImplementation((...args) => void logs.push(args.join(" ")));
    const { waiting, ctx } = fakeContext();
    await worker.scheduled({}, { ...testEnv, STALE_UPLOAD_HOURS: "1" }, ctx);
    expect(waiting).toHaveLength(1);
    await Promise.all(waiting);
    // Every upload in this cos-local is minutes old at most, so nothing is stale after 1 hour.
    expect(logs).toEqual(["sweeper: aborted 0 stale upload(s), 0 failed"]);
    expect(await uploadIdsInCos(`${prefix}scheduled/`)).toEqual([fresh.uploadId]);
  });

  it("with KEY_PREFIX={sub}/ sweeps nothing, not even another tool's stale upload, and logs one line saying how to enable it", async () => {
    // COS as the sweeper would see it: one upload, two days old, outside any prefix of this app's.
    // Requests are answered here, so nothing reaches cos-local whatever the sweeper does.
    const sent: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      sent.push(`${request.method} ${request.url}`);
      if (request.method === "DELETE") return new Response(null, { status: 204 });
      const initiated = new Date(Date.now() - 48 * 3600_000).toISOString();
      const xml = `<ListMultipartUploadsResult><Bucket>${target.bucket}</Bucket><Upload><Key>backups/sw-other.tar</Key><UploadId>sw-other-id</UploadId><Initiated>${initiated}</Initiated></Upload><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>`;
      return new Response(xml, { status: 200, headers: { "content-type": "application/xml" } });
    });
    const logs: string[] = [];
    vi.spyOn(console, "log").mockImplementation((...args) => void logs.push(args.join(" ")));
    const { waiting, ctx } = fakeContext();
    await worker.scheduled({}, { ...testEnv, KEY_PREFIX: "{sub}/", STALE_UPLOAD_HOURS: "1" }, ctx);
    await Promise.all(waiting);
    // Not one COS request: no bucket-wide listing, no abort.
    expect(sent).toEqual([]);
    expect(logs).toEqual([SWEEP_SKIPPED]);
    expect(SWEEP_SKIPPED).toMatch(/KEY_PREFIX.*fixed folder/);
    for (const secret of [testEnv.COS_SECRET_KEY, testEnv.COS_SECRET_ID, testEnv.UPLOAD_TOKEN_SECRET, testEnv.JWT_SECRET]) expect(logs.join("\n")).not.toContain(secret);
  });

  it("fails loudly, naming the variable, when the configuration is bad", async () => {
    const { waiting, ctx } = fakeContext();
    await expect(worker.scheduled({}, { ...testEnv, STALE_UPLOAD_HOURS: "0" }, ctx)).rejects.toThrow(/STALE_UPLOAD_HOURS/);
    expect(waiting).toEqual([]);
  });
});
