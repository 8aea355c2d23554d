// COS error responses (cos-protocol.md §6): one error class that handlers throw, and the XML
// document COS answers with. The server's single error handler turns a thrown CosLocalError into
// `<Error><Code/><Message/><Resource/><RequestId/><TraceId/></Error>`.

import { buildXml } from "../functions/cos/xml";

export class CosLocalError extends Error {
  override readonly name = "CosLocalError" as const;
  /** Response headers the error carries (Content-Range on 416, x-cos-next-append-position on 409). */
  headers: Record<string, string> = {};

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra elements after TraceId, e.g. StringToSign/FormatString on SignatureDoesNotMatch (§6). */
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }

  withHeaders(headers: Record<string, string>): this {
    Object.assign(this.headers, headers);
    return this;
  }
}

export function isCosLocalError(error: unknown): error is CosLocalError {
  return error instanceof Error && error.name === "CosLocalError";
}

/** Shorthands for the errors more than one handler raises. */
export const cosErrors = {
  noSuchKey: () => new CosLocalError(404, "NoSuchKey", "The specified key does not exist."),
  noSuchUpload: () => new CosLocalError(404, "NoSuchUpload", "The specified multipart upload does not exist."),
  invalidArgument: (message: string) => new CosLocalError(400, "InvalidArgument", message),
  malformedXml: () => new CosLocalError(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema."),
  entityTooLarge: (max: number) => new CosLocalError(400, "EntityTooLarge", `Your proposed upload exceeds the maximum allowed object size (${max} bytes).`),
  accessDenied: (message = "Access Denied.") => new CosLocalError(403, "AccessDenied", message),
  expired: (serverTime: Date) => new CosLocalError(403, "AccessDenied", "Request has expired", { ServerTime: serverTime.toISOString() }),
  slowDown: () => new CosLocalError(503, "SlowDown", "Please reduce your request rate."),
  internal: (message = "We encountered an internal error. Please try again.") => new CosLocalError(500, "InternalError", message),
};

export interface ErrorDocument {
  code: string;
  message: string;
  resource: string;
  requestId: string;
  traceId: string;
  extra?: Record<string, string>;
}

/** The error body exactly as COS writes it, declaration included (§6 "Format"). */
export function errorXml(doc: ErrorDocument): string {
  const body = buildXml({
    Error: {
      Code: doc.code,
      Message: doc.message,
      Resource: doc.resource,
      RequestId: doc.requestId,
      TraceId: doc.traceId,
      ...doc.extra,
    },
  });
  return `<?xml version='1.0' encoding='utf-8' ?>${body}`;
}
