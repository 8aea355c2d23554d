// What the bucket listings (GET /?uploads, GET /) share: prefix/delimiter grouping into
// CommonPrefixes, marker paging, `encoding-type=url` and the Owner element (cos-protocol.md §3.6).

import { encodeKeyPath } from "../../functions/cos/endpoint";
import type { Ctx } from "../context";
import { compareKeys } from "../storage";

export interface Page<T> {
  items: T[];
  commonPrefixes: string[];
  truncated: boolean;
  /** The last key or common prefix returned: the next page's key-marker/marker. */
  nextMarker?: string;
  /** The last item returned (the next upload-id-marker comes from it). */
  lastItem?: T;
}

export interface PageOptions<T> {
  prefix: string;
  delimiter: string;
  max: number;
  keyMarker?: string;
  /** True when an item sorts after the markers (uploads compare upload ids on an equal key). */
  after: (item: T) => boolean;
}

/**
 * One page of a sorted listing. With a delimiter, keys that contain it after the prefix collapse
 * into one CommonPrefixes entry, which counts once toward `max`, as in S3 and COS.
 */
export function paginate<T>(sorted: T[], keyOf: (item: T) => string, options: PageOptions<T>): Page<T> {
  const page: Page<T> = { items: [], commonPrefixes: [], truncated: false };
  let count = 0;
  for (const item of sorted) {
    const key = keyOf(item);
    if (!key.startsWith(options.prefix) || !options.after(item)) continue;
    const cut = options.delimiter ? key.indexOf(options.delimiter, options.prefix.length) : -1;
    const common = cut >= 0 ? key.slice(0, cut + options.delimiter.length) : undefined;
    if (common !== undefined) {
      if (common === page.commonPrefixes[page.commonPrefixes.length - 1]) continue;
      if (options.keyMarker !== undefined && compareKeys(common, options.keyMarker) <= 0) continue;
    }
    if (count === options.max) {
      page.truncated = true;
      break;
    }
    count++;
    if (common !== undefined) {
      page.commonPrefixes.push(common);
      page.nextMarker = common;
    } else {
      page.items.push(item);
      page.nextMarker = key;
      page.lastItem = item;
    }
  }
  return page;
}

/** max-uploads / max-keys: default and ceiling 1000. */
export function maxEntries(value: string | undefined): number {
  const n = Number(value ?? 1000);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 1000) : 1000;
}

/** With `encoding-type=url`, keys, prefixes and markers come back percent-encoded (§3.6). */
export function encodeIf(url: boolean, value: string): string {
  return url ? encodeKeyPath(value) : value;
}

/** The Owner/Initiator element; the uin is the bucket's APPID, as on a single-account bucket. */
export function owner(ctx: Ctx): { ID: string; DisplayName: string } {
  const uin = ctx.bucket.slice(ctx.bucket.lastIndexOf("-") + 1);
  return { ID: `qcs::cam::uin/${uin}:uin/${uin}`, DisplayName: uin };
}
