// Where a bucket's objects live and which pathname COS signs for them (cos-protocol.md §2).
// Virtual-host style is COS's default; an override endpoint (cos-local, a private gateway) is
// addressed path style, and path style signs `/<bucket>/<key>`.

import { cosEncode } from "./sign";

export interface CosTarget {
  /** `<BucketName>-<APPID>`, e.g. `examplebucket-1250000000`. */
  bucket: string;
  /** Region id, e.g. `ap-guangzhou`. */
  region: string;
  /** Override origin such as `http://127.0.0.1:9000`; when set, requests are path style. */
  endpoint?: string;
}

export interface CosLocation {
  /** Absolute URL without a query string. */
  url: string;
  /** The Host header the request will carry (signed as `host`). */
  host: string;
  /** The decoded pathname COS signs. */
  pathname: string;
}

/** Percent-encodes an object key for a URL path: every byte as COS's E() except `/`. */
export function encodeKeyPath(key: string): string {
  return cosEncode(key).replace(/%2F/g, "/");
}

/** The location of `key` (or of the bucket itself when `key` is ""). */
export function cosLocation(target: CosTarget, key: string): CosLocation {
  if (target.endpoint) {
    const origin = new URL(target.endpoint);
    const base = origin.pathname.replace(/\/+$/, "");
    return {
      url: `${origin.origin}${base}/${target.bucket}/${encodeKeyPath(key)}`,
      host: origin.host,
      pathname: `${base}/${target.bucket}/${key}`,
    };
  }
  const host = `${target.bucket}.cos.${target.region}.myqcloud.com`;
  return { url: `https://${host}/${encodeKeyPath(key)}`, host, pathname: `/${key}` };
}
