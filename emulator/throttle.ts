// x-cos-traffic-limit (cos-protocol.md §4 PUT Object "Limits"): bits per second, 819200-838860800,
// as a header or a query parameter, for uploads and downloads alike. Outside the range → 400.

import { Transform } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { cosErrors } from "./errors";

export const TRAFFIC_LIMIT_MIN = 819200;
export const TRAFFIC_LIMIT_MAX = 838860800;

/** Parses the limit; undefined when absent, throws 400 InvalidArgument when out of range. */
export function parseTrafficLimit(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const bps = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!(bps >= TRAFFIC_LIMIT_MIN && bps <= TRAFFIC_LIMIT_MAX)) {
    throw cosErrors.invalidArgument(`x-cos-traffic-limit must be an integer from ${TRAFFIC_LIMIT_MIN} to ${TRAFFIC_LIMIT_MAX} (bits per second), got ${JSON.stringify(value)}.`);
  }
  return bps;
}

/**
 * A pass-through that lets bytes out no faster than `bitsPerSecond`: each slice (a tenth of a
 * second's worth) is released when the running total is due, so the average rate never exceeds
 * the limit and there is no initial burst.
 */
export function throttle(bitsPerSecond: number): Transform {
  const bytesPerSecond = bitsPerSecond / 8;
  const slice = Math.max(1, Math.floor(bytesPerSecond / 10));
  let started = 0;
  let sent = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (!started) started = Date.now();
      const release = async () => {
        for (let offset = 0; offset < chunk.length; offset += slice) {
          const piece = chunk.subarray(offset, offset + slice);
          sent += piece.length;
          const wait = started + (sent / bytesPerSecond) * 1000 - Date.now();
          if (wait > 0) await sleep(wait);
          this.push(piece);
        }
      };
      release().then(() => callback(), callback);
    },
  });
}
