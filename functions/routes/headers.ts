// ObjectOptions (JSON) → the COS request headers that carry them. Signed into presigned URLs so the
// uploader must send exactly these values (cos-protocol.md §1.3), and sent with Initiate.

import type * as z from "zod";
import { invalidInput } from "../errors";
import type { ObjectOptions } from "./schemas";

const METADATA_LIMIT = 2048;

export function objectHeaders(options: z.infer<typeof ObjectOptions>): Record<string, string> {
  const headers: Record<string, string> = { "content-type": options.contentType ?? "application/octet-stream" };
  let metadataBytes = 0;
  for (const [name, value] of Object.entries(options.metadata ?? {})) {
    metadataBytes += name.length + "x-cos-meta-".length + value.length;
    headers[`x-cos-meta-${name}`] = value;
  }
  if (metadataBytes > METADATA_LIMIT) throw invalidInput("body.metadata", `is ${metadataBytes} bytes; COS allows ${METADATA_LIMIT} in total`);
  if (options.storageClass && options.storageClass !== "STANDARD") headers["x-cos-storage-class"] = options.storageClass;
  if (options.cacheControl) headers["cache-control"] = options.cacheControl;
  if (options.contentDisposition) headers["content-disposition"] = options.contentDisposition;
  if (options.contentEncoding) headers["content-encoding"] = options.contentEncoding;
  return headers;
}

/** x-cos-traffic-limit as a signed query parameter, so the uploader cannot lift it (cos-protocol.md §4). */
export function trafficQuery(limit: number | undefined): Record<string, number> {
  return limit === undefined ? {} : { "x-cos-traffic-limit": limit };
}
