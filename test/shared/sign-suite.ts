// The signer and CRC vector checks, written once and run by both the Node and the workerd projects
// (issue 2 §4: "Run the signer in workerd as well as Node").
import { expect, it } from "vitest";
import { crc64, crc64Combine, Crc64 } from "../../functions/cos/crc64";
import { postPolicy, presignUrl } from "../../functions/cos/presign";
import {
  authorization,
  formatPairs,
  httpString,
  parseAuthorization,
  postPolicySignature,
  sha1Hex,
  signKey,
  stringToSign,
} from "../../functions/cos/sign";
import { CRC64_VECTORS, DOC_CREDENTIALS, POLICY_VECTOR, PRESIGN_VECTOR, SIGN_VECTORS } from "./vectors";

export function signVectorSuite(): void {
  for (const v of SIGN_VECTORS) {
    it(`signs ${v.name} step by step`, async () => {
      const http = httpString(v.method, v.pathname, v.query, v.headers);
      if (v.httpString) expect(http).toBe(v.httpString);
      if (v.httpStringSha1) expect(await sha1Hex(http)).toBe(v.httpStringSha1);
      const key = await signKey(DOC_CREDENTIALS.secretKey, v.keyTime);
      if (v.signKey) expect(key).toBe(v.signKey);
      expect(await stringToSign(v.keyTime, http)).toBe(`sha1\n${v.keyTime}\n${await sha1Hex(http)}\n`);
      expect(formatPairs(v.headers).list).toBe(v.headerList);
      expect(formatPairs(v.query).list).toBe(v.urlParamList);
      const auth = await authorization({ ...DOC_CREDENTIALS, method: v.method, pathname: v.pathname, query: v.query, headers: v.headers, keyTime: v.keyTime });
      expect(auth).toBe(
        `q-sign-algorithm=sha1&q-ak=${DOC_CREDENTIALS.secretId}&q-sign-time=${v.keyTime}&q-key-time=${v.keyTime}` +
          `&q-header-list=${v.headerList}&q-url-param-list=${v.urlParamList}&q-signature=${v.signature}`,
      );
      expect(parseAuthorization(auth.replaceAll(";", "%3b"))?.signature).toBe(v.signature);
    });
  }

  it("presigns V5: an STS PUT URL with an encoded token", async () => {
    const v = PRESIGN_VECTOR;
    const { url, expiresAt } = await presignUrl({
      credentials: v.credentials,
      target: v.target,
      method: v.method,
      key: v.key,
      now: 0,
      keyTime: v.keyTime,
    });
    const parsed = new URL(url);
    expect(`${parsed.origin}${parsed.pathname}`).toBe(v.path);
    expect(parsed.searchParams.get("q-signature")).toBe(v.signature);
    expect(parsed.searchParams.get("q-header-list")).toBe("host");
    expect(parsed.searchParams.get("q-sign-time")).toBe(v.keyTime);
    expect(parsed.searchParams.get("x-cos-security-token")).toBe("tokenEXAMPLE+/=");
    expect(url).toContain("q-sign-time=1700000000%3B1700000600");
    expect(expiresAt).toBe(1700000600_000);
  });

  it("signs the §4 POST policy vector", async () => {
    const v = POLICY_VECTOR;
    expect(await signKey(DOC_CREDENTIALS.secretKey, v.keyTime)).toBe(v.signKey);
    expect(await sha1Hex(v.policy)).toBe(v.policySha1);
    expect(await postPolicySignature(DOC_CREDENTIALS.secretKey, v.keyTime, v.policy)).toBe(v.signature);
    const built = await postPolicy({ credentials: DOC_CREDENTIALS, bucket: "examplebucket-1250000000", key: "uploads/a.png", now: 0, keyTime: v.keyTime });
    expect(built.policyJson).toBe(v.policy);
    expect(built.fields["q-signature"]).toBe(v.signature);
    expect(built.fields["q-key-time"]).toBe(v.keyTime);
    expect(atob(built.fields.policy)).toBe(v.policy);
  });

  it("builds a POST policy with prefix, size range and a UTF-8 key prefix", async () => {
    const built = await postPolicy({ credentials: DOC_CREDENTIALS, bucket: "b-1", keyPrefix: "用户/", contentLengthRange: [1, 1024], contentType: "image/png", now: 1_700_000_000_000, expires: 60 });
    const decoded = new TextDecoder().decode(Uint8Array.from(atob(built.fields.policy), (c) => c.charCodeAt(0)));
    expect(decoded).toBe(built.policyJson);
    expect(JSON.parse(decoded).conditions.slice(4)).toEqual([["starts-with", "$key", "用户/"], ["content-length-range", 1, 1024], { "Content-Type": "image/png" }]);
    expect(JSON.parse(decoded).expiration).toBe("2023-11-14T22:14:19.000Z");
    expect(built.fields["q-signature"]).toBe(await postPolicySignature(DOC_CREDENTIALS.secretKey, "1699999999;1700000059", decoded));
  });

  it("computes the CRC-64/XZ check values", () => {
    for (const [input, expected] of CRC64_VECTORS) expect(crc64(input).toString()).toBe(expected);
    expect(new Crc64().update(new TextEncoder().encode("1234")).update(new TextEncoder().encode("56789")).toString()).toBe("11051210869376104954");
  });

  it("combines part CRCs into the CRC of the concatenation", () => {
    const bytes = new Uint8Array(3 * 65_537 + 11).map((_, i) => (i * 131 + (i >> 7)) & 0xff);
    const cuts = [0, 1, 65_537, 100_000, 131_074, bytes.length];
    let combined = crc64(bytes.subarray(0, 0));
    for (let i = 1; i < cuts.length; i++) {
      const part = bytes.subarray(cuts[i - 1], cuts[i]);
      combined = crc64Combine(combined, crc64(part), part.length);
    }
    expect(combined).toBe(crc64(bytes));
    expect(crc64Combine(crc64("abc"), crc64(""), 0)).toBe(crc64("abc"));
  });
}
