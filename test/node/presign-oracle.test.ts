// Pre-signed URLs and endpoints against the official SDK's getObjectUrl: the same path (virtual
// host and path style through an override endpoint), the same signed headers and the same signature.
import COS from "cos-nodejs-sdk-v5";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cosLocation } from "../../functions/cos/endpoint";
import { presignUrl } from "../../functions/cos/presign";
import { DOC_CREDENTIALS } from "../shared/vectors";

const NOW = 1_700_000_000_000;
const sdkCredentials = { SecretId: DOC_CREDENTIALS.secretId, SecretKey: DOC_CREDENTIALS.secretKey };

function sdkUrl(options: Record<string, unknown>, params: Record<string, unknown>): URL {
  vi.useFakeTimers({ now: NOW, toFake: ["Date"] });
  const cos = new COS({ ...sdkCredentials, ...options });
  return new URL(cos.getObjectUrl({ Sign: true, Expires: 600, ...params } as Parameters<COS["getObjectUrl"]>[0], () => {}));
}

afterEach(() => {
  vi.useRealTimers();
});

const cases = [
  { name: "virtual-host GET", options: {}, target: {}, method: "GET", key: "photos/2024/猫 (1).jpg", query: {} },
  { name: "virtual-host Upload Part", options: {}, target: {}, method: "PUT", key: "videos/big file+v2.mp4", query: { partNumber: "2", uploadId: "1700000000a1b2c3d4e5f6" } },
];

describe("presignUrl vs cos-nodejs-sdk-v5 getObjectUrl", () => {
  for (const c of cases) {
    it(`matches for ${c.name}`, async () => {
      const expected = sdkUrl(c.options, { Bucket: "examplebucket-1250000000", Region: "ap-beijing", Key: c.key, Method: c.method, Query: c.query });
      const target = { bucket: "examplebucket-1250000000", region: "ap-beijing", ...c.target };
      const ours = new URL((await presignUrl({ credentials: DOC_CREDENTIALS, target, method: c.method, key: c.key, query: c.query, now: NOW, expires: 600 })).url);
      expect(`${ours.origin}${ours.pathname}`).toBe(`${expected.origin}${expected.pathname}`);
      expect(ours.pathname).toBe(new URL(cosLocation(target, c.key).url).pathname);
      for (const name of ["q-sign-time", "q-key-time", "q-header-list", "q-url-param-list", "q-signature"]) {
        expect([name, ours.searchParams.get(name)]).toEqual([name, expected.searchParams.get(name)]);
      }
      for (const [name, value] of Object.entries(c.query)) expect(ours.searchParams.get(name)).toBe(value);
    });
  }

  // Both official SDKs now refuse ForcePathStyle, so path style is checked against the SDK's signer
  // given the pathname COS signs for path style: `/<bucket>/<key>` (cos-protocol.md §1.2 step 6).
  it("signs path style through an override endpoint as /<bucket>/<key>", async () => {
    const target = { bucket: "examplebucket-1250000000", region: "ap-beijing", endpoint: "http://127.0.0.1:9000" };
    const query = { partNumber: "1", uploadId: "abc" };
    const ours = new URL((await presignUrl({ credentials: DOC_CREDENTIALS, target, method: "PUT", key: "a/b c!.txt", query, now: NOW, expires: 600 })).url);
    expect(`${ours.origin}${ours.pathname}`).toBe("http://127.0.0.1:9000/examplebucket-1250000000/a/b%20c%21.txt");
    const expected = COS.getAuthorization({
      ...sdkCredentials, Method: "PUT", Pathname: "/examplebucket-1250000000/a/b c!.txt", Query: query,
      Headers: { host: "127.0.0.1:9000" }, KeyTime: "1699999999;1700000599",
    });
    const auth = ["q-sign-algorithm", "q-ak", "q-sign-time", "q-key-time", "q-header-list", "q-url-param-list", "q-signature"]
      .map((name) => `${name}=${ours.searchParams.get(name)}`).join("&");
    expect(auth).toBe(expected);
  });

  it("signs the headers a URL's user must send, and the STS token", async () => {
    const { url, expiresAt } = await presignUrl({
      credentials: { ...DOC_CREDENTIALS, securityToken: "a+b/c=" },
      target: { bucket: "b-1250000000", region: "ap-guangzhou" },
      method: "PUT",
      key: "k",
      headers: { "Content-Length": 5, "Content-MD5": "XUFAKrxLKna5cZ2REBfFkg==" },
      now: NOW,
      expires: 60,
    });
    const parsed = new URL(url);
    expect(parsed.searchParams.get("q-header-list")).toBe("content-length;content-md5;host");
    expect(parsed.searchParams.get("x-cos-security-token")).toBe("a+b/c=");
    expect(expiresAt).toBe(NOW - 1000 + 60_000);
  });

  it("addresses the bucket itself for bucket operations", () => {
    expect(cosLocation({ bucket: "b-1", region: "ap-guangzhou" }, "")).toEqual({ url: "https://b-1.cos.ap-guangzhou.myqcloud.com/", host: "b-1.cos.ap-guangzhou.myqcloud.com", pathname: "/" });
    expect(cosLocation({ bucket: "b-1", region: "r", endpoint: "http://127.0.0.1:9000/" }, "")).toEqual({ url: "http://127.0.0.1:9000/b-1/", host: "127.0.0.1:9000", pathname: "/b-1/" });
  });
});
