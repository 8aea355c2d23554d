// A streaming multipart/form-data reader for POST Object (cos-protocol.md §4 "POST Object").
// COS requires `file` to be the last field, so every other field is known when the file part
// starts: the caller verifies the policy then and streams the file to disk. Fields are small and
// buffered (capped); the file never is. Anything after the file part is read and ignored.

import { once } from "node:events";
import { PassThrough, type Readable } from "node:stream";
import { CosLocalError } from "./errors";

export interface FormFile {
  /** The part's filename parameter (what `${filename}` in the key becomes). */
  filename: string;
  /** The part's own Content-Type; COS ignores it in favour of the Content-Type field. */
  contentType?: string;
}

export type FileHandler<R> = (fields: Map<string, string>, file: FormFile, stream: Readable) => Promise<R>;

const MAX_FIELDS_BYTES = 1024 * 1024;
const MAX_HEADER_BYTES = 16 * 1024;

const malformed = (why: string) => new CosLocalError(400, "MalformedPOSTRequest", `The body of your POST request is not well-formed multipart/form-data: ${why}.`);

/** The boundary parameter of a multipart/form-data Content-Type. */
export function formBoundary(contentType: string | undefined): string {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? "");
  if (!match) throw malformed("the Content-Type has no boundary");
  return match[1] ?? match[2];
}

function parsePartHeaders(block: string): { name: string; filename?: string; contentType?: string } {
  let name: string | undefined;
  let filename: string | undefined;
  let contentType: string | undefined;
  for (const line of block.split("\r\n")) {
    const colon = line.indexOf(":");
    const header = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (header === "content-disposition") {
      name = /\bname="([^"]*)"/i.exec(value)?.[1];
      filename = /\bfilename="([^"]*)"/i.exec(value)?.[1];
    } else if (header === "content-type") {
      contentType = value;
    }
  }
  if (name === undefined) throw malformed("a part has no Content-Disposition name");
  return { name, filename, contentType };
}

/**
 * Reads the form from `source`; calls `onFile` when the `file` part starts, with the fields read
 * so far and a stream of the file's bytes. Resolves with `onFile`'s result once the body is read.
 */
export async function readForm<R>(source: Readable, boundary: string, onFile: FileHandler<R>): Promise<R> {
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const fields = new Map<string, string>();
  let fieldBytes = 0;
  // A leading CRLF lets the first boundary match the same delimiter as the others.
  let buffer: Buffer = Buffer.from("\r\n");
  let state: "preamble" | "delimiter" | "headers" | "field" | "file" | "epilogue" = "preamble";
  let field: { name: string; chunks: Buffer[] } | undefined;
  let file: { stream: PassThrough; result: Promise<R> } | undefined;

  const emit = async (data: Buffer) => {
    if (state === "field" && field) {
      fieldBytes += data.length;
      if (fieldBytes > MAX_FIELDS_BYTES) throw malformed(`the fields before "file" exceed ${MAX_FIELDS_BYTES} bytes`);
      field.chunks.push(data);
    } else if (state === "file" && file && data.length && !file.stream.write(data)) {
      // Wait for the disk, or for the handler to give up (a refused policy rejects `result`).
      await Promise.race([once(file.stream, "drain"), file.result]);
    }
  };

  const step = async (): Promise<boolean> => {
    switch (state) {
      case "preamble":
      case "field":
      case "file": {
        const at = buffer.indexOf(delimiter);
        if (at < 0) {
          const safe = buffer.length - (delimiter.length - 1);
          if (safe > 0 && state !== "preamble") await emit(buffer.subarray(0, safe));
          if (safe > 0) buffer = buffer.subarray(safe);
          return false;
        }
        if (state !== "preamble") await emit(buffer.subarray(0, at));
        if (state === "field" && field) fields.set(field.name, Buffer.concat(field.chunks).toString("utf8"));
        if (state === "file" && file) {
          file.stream.end();
          state = "epilogue";
          return true;
        }
        buffer = buffer.subarray(at + delimiter.length);
        state = "delimiter";
        return true;
      }
      case "delimiter": {
        if (buffer.length < 2) return false;
        const next = buffer.subarray(0, 2).toString("latin1");
        if (next === "--") throw malformed('the form has no "file" field');
        if (next !== "\r\n") throw malformed("a boundary is not followed by CRLF");
        buffer = buffer.subarray(2);
        state = "headers";
        return true;
      }
      case "headers": {
        const end = buffer.indexOf("\r\n\r\n");
        if (end < 0) {
          if (buffer.length > MAX_HEADER_BYTES) throw malformed("a part's headers are too long");
          return false;
        }
        const part = parsePartHeaders(buffer.subarray(0, end).toString("utf8"));
        buffer = buffer.subarray(end + 4);
        if (part.name.toLowerCase() === "file") {
          const stream = new PassThrough();
          // Destroyed with an error when the body is cut short; the handler may have stopped
          // listening (it refused the policy), and an unheard 'error' event would end the process.
          stream.on("error", () => undefined);
          const result = onFile(fields, { filename: part.filename ?? "", contentType: part.contentType }, stream);
          result.catch(() => undefined); // observed below; avoid an unhandled rejection meanwhile
          file = { stream, result };
          state = "file";
        } else {
          field = { name: part.name, chunks: [] };
          state = "field";
        }
        return true;
      }
      case "epilogue":
        buffer = Buffer.alloc(0);
        return false;
    }
  };

  try {
    // destroyOnReturn: false, so a refusal can still be answered on this connection.
    for await (const chunk of source.iterator({ destroyOnReturn: false })) {
      buffer = buffer.length ? Buffer.concat([buffer, chunk as Buffer]) : (chunk as Buffer);
      while (await step());
    }
  } catch (error) {
    file?.stream.destroy(error as Error);
    throw error;
  }
  if (!file) throw malformed('the form has no "file" field');
  if ((state as string) !== "epilogue") {
    file.stream.destroy(malformed("the body ended inside the file part"));
  }
  return file.result;
}
