// One error class for everything COS refuses (cos-protocol.md §6), in the style of ky's HTTPError:
// `name` is a constant, the message says which request failed and what COS said, and a type guard
// compares `name`. Never carries credentials: the URL is kept without its query string.

export interface CosErrorInit {
  status: number;
  code: string;
  message: string;
  requestId?: string;
  method: string;
  /** The request URL without its query (a presigned query would carry a signature). */
  url: string;
  resource?: string;
  /** On SignatureDoesNotMatch: the server's StringToSign and FormatString (HttpString). */
  stringToSign?: string;
  formatString?: string;
}

export class CosError extends Error {
  override readonly name = "CosError" as const;
  readonly status: number;
  readonly code: string;
  readonly cosMessage: string;
  readonly requestId?: string;
  readonly method: string;
  readonly url: string;
  readonly resource?: string;
  readonly stringToSign?: string;
  readonly formatString?: string;

  constructor(init: CosErrorInit) {
    const id = init.requestId ? ` (request id ${init.requestId})` : "";
    super(`COS ${init.method} ${init.url} failed: ${init.status} ${init.code}: ${init.message}${id}`);
    this.status = init.status;
    this.code = init.code;
    this.cosMessage = init.message;
    this.requestId = init.requestId;
    this.method = init.method;
    this.url = init.url;
    this.resource = init.resource;
    this.stringToSign = init.stringToSign;
    this.formatString = init.formatString;
  }
}

export function isCosError(error: unknown): error is CosError {
  return error instanceof Error && error.name === "CosError";
}

/** Status → code for responses without a body (HEAD errors, §4 HEAD Object). */
export function codeForStatus(status: number): string {
  const codes: Record<number, string> = {
    304: "NotModified",
    400: "BadRequest",
    403: "AccessDenied",
    404: "NoSuchKey",
    405: "MethodNotAllowed",
    409: "Conflict",
    412: "PreconditionFailed",
    416: "InvalidRange",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
  };
  return codes[status] ?? `Http${status}`;
}
