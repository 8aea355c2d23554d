// Receiving bodies to disk (issue 2 §3 "Bodies stream to disk: a 5 GB part never sits in memory").
// A request body flows through one Transform that computes MD5 and CRC-64 and counts bytes on the
// way to a temp file; nothing holds more than a stream chunk.

import { createHash, type Hash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { open, unlink } from "node:fs/promises";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Crc64 } from "../functions/cos/crc64";
import { CosLocalError, cosErrors } from "./errors";
import { throttle } from "./throttle";

export interface ReceivedBody {
  tempFile: string;
  size: number;
  md5: Buffer;
  crc64: bigint;
}

export interface ReceiveOptions {
  /** Bytes above which the body is refused with EntityTooLarge (5 GB for objects and parts). */
  maxBytes: number;
  /** Content-MD5 header (base64), checked after the body: BadDigest on mismatch. */
  contentMd5?: string;
  /** Content-Length header: a shorter body is IncompleteBody. */
  contentLength?: number;
  /** x-cos-traffic-limit in bits per second. */
  trafficLimit?: number;
}

/** Validates Content-MD5 before reading a body: malformed → 400 InvalidDigest (§4 PUT Object). */
export function parseContentMd5(value: string | undefined): Buffer | undefined {
  if (value === undefined || value === "") return undefined;
  const bytes = /^[A-Za-z0-9+/]{22}==$/.test(value.trim()) ? Buffer.from(value.trim(), "base64") : Buffer.alloc(0);
  if (bytes.length !== 16) throw new CosLocalError(400, "InvalidDigest", "The Content-MD5 you specified is not valid.");
  return bytes;
}

/** Streams `source` into `tempFile`, hashing on the way. Removes the temp file on any failure. */
export async function receiveBody(source: Readable, tempFile: string, options: ReceiveOptions): Promise<ReceivedBody> {
  const expectedMd5 = parseContentMd5(options.contentMd5);
  const md5 = createHash("md5");
  const crc = new Crc64();
  let size = 0;
  const digest = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > options.maxBytes) return callback(cosErrors.entityTooLarge(options.maxBytes));
      md5.update(chunk);
      crc.update(chunk);
      callback(null, chunk);
    },
  });
  try {
    if (options.trafficLimit) await pipeline(source, throttle(options.trafficLimit), digest, createWriteStream(tempFile));
    else await pipeline(source, digest, createWriteStream(tempFile));
    if (options.contentLength !== undefined && size !== options.contentLength) {
      throw new CosLocalError(400, "IncompleteBody", `You did not provide the number of bytes specified by the Content-Length HTTP header (${size} of ${options.contentLength}).`);
    }
    const actual = md5.digest();
    if (expectedMd5 && !actual.equals(expectedMd5)) {
      throw new CosLocalError(400, "BadDigest", "The Content-MD5 you specified did not match what we received.");
    }
    return { tempFile, size, md5: actual, crc64: crc.digest() };
  } catch (error) {
    await unlink(tempFile).catch(() => undefined);
    throw error;
  }
}

/** Bytes per read while concatenating (one buffer, reused: no garbage per chunk). */
const COPY_CHUNK = 8 * 1024 * 1024;

/**
 * Concatenates files into `dest` (Complete merges parts this way; APPEND rewrites the object as old
 * body + new bytes so the commit stays one atomic rename). `hash` sees every byte. One reused 8 MiB
 * buffer: about 2.5× faster than piping 64 KiB stream chunks, and it leaves no garbage behind for the
 * uploads the server is receiving meanwhile.
 */
export async function concatFiles(paths: string[], dest: string, hash?: Hash): Promise<void> {
  const buffer = Buffer.allocUnsafeSlow(COPY_CHUNK);
  const out = await open(dest, "w");
  try {
    for (const path of paths) {
      const input = await open(path, "r");
      try {
        for (let read; (read = (await input.read(buffer, 0, buffer.length, null)).bytesRead) > 0; ) {
          hash?.update(buffer.subarray(0, read));
          for (let written = 0; written < read; ) written += (await out.write(buffer, written, read - written)).bytesWritten;
        }
      } finally {
        await input.close();
      }
    }
    await out.close();
  } catch (error) {
    await out.close().catch(() => undefined);
    await unlink(dest).catch(() => undefined);
    throw error;
  }
}
