// The official cos-js-sdk-v5, loaded in the same kind of page, uploads a 20 MB Blob with `uploadFile`
// to cos-local, with POST /v1/authorize as its getAuthorization backend: apps built on the SDK keep
// their code and move the secret to the functions. The SDK builds `<protocol>//<Domain>/<key>`;
// a Domain of `127.0.0.1:<port>/<bucket>` makes that the path-style URL the functions sign for
// (their COS_ENDPOINT is cos-local), since the SDK no longer takes ForcePathStyle.

import { describe, expect, it } from "vitest";
import { useBrowserHarness } from "./harness";

const rig = useBrowserHarness();

describe("cos-js-sdk-v5 in Chromium with /v1/authorize", () => {
  it("uploads 20 MB with uploadFile (multipart) to identical bytes", async () => {
    const { client } = rig();
    const page = await rig().page();
    await page.addScriptTag({ url: "/cos-js-sdk.js" });
    const key = "users/alice/sdk/twenty.bin";
    const size = 20 * 1024 * 1024;
    const run = await page.evaluate(
      async ({ endpoint, token, bucket, region, cosHost, key, size }) => {
        const bytes = new Uint8Array(size);
        for (let at = 0; at < size; at += 65536) crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65536)));
        const hex = (b: ArrayBuffer) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");
        const sha256 = hex(await crypto.subtle.digest("SHA-256", bytes));
        const asked: string[] = [];
        const COS = (window as any).COS;
        const cos = new COS({
          Protocol: "http:",
          Domain: `${cosHost}/{Bucket}`,
          getAuthorization(options: any, callback: (auth: unknown) => void) {
            asked.push(`${options.Method} ${Object.keys(options.Query ?? {}).join(",")}`);
            fetch(`${endpoint}/v1/authorize`, {
              method: "POST",
              headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
              body: JSON.stringify({ method: options.Method, key: options.Key, query: options.Query, headers: options.Headers }),
            })
              .then(async (res) => {
                const answer = await res.json();
                if (!res.ok) throw new Error(`/v1/authorize ${res.status}: ${JSON.stringify(answer)}`);
                callback(answer);
              })
              .catch((error) => callback({ error }));
          },
        });
        const progress: number[] = [];
        try {
          const data = await cos.uploadFile({
            Bucket: bucket,
            Region: region,
            Key: key,
            Body: new Blob([bytes]),
            ContentType: "application/octet-stream",
            SliceSize: 1024 * 1024,
            ChunkSize: 1024 * 1024,
            onProgress: (p: { percent: number }) => progress.push(p.percent),
          });
          return { ok: true, statusCode: data.statusCode, sha256, asked, progress };
        } catch (error) {
          return { ok: false, error: JSON.stringify(error), sha256, asked, progress };
        }
      },
      { endpoint: client.endpoint, token: await client.token("alice"), bucket: client.cos.bucket, region: client.cos.region, cosHost: new URL(client.cos.url).host, key, size },
    );
    expect(run.ok, run.error).toBe(true);
    expect(run.statusCode).toBe(200);
    // It went multipart: initiate, parts, complete, all signed by the functions.
    expect(run.asked).toContain("POST uploads");
    expect(run.asked.filter((a) => a.startsWith("PUT ")).length).toBeGreaterThanOrEqual(20);
    expect(run.progress.at(-1)).toBe(1);
    expect(await client.readBackSha256(key)).toBe(run.sha256);
    await rig().screenshot(page, "cos-js-sdk-upload-file", `cos-js-sdk-v5 uploadFile ${key}: ${size} bytes, ${run.asked.length} requests signed by /v1/authorize, SHA-256 read back = ${run.sha256}`);
  });
});
