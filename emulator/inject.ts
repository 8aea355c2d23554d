// Applying a fault a request drew (faults.ts holds the specs and the matching). Runs before the
// signature check, so an "expired" fault answers like COS whatever the signature.

import { Transform } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { Ctx } from "./context";
import { CosLocalError, cosErrors } from "./errors";
import type { ActiveFault } from "./faults";

/** Passes `limit` bytes, then calls `kill` (which destroys the socket) and fails the stream. */
function cutAfter(limit: number, kill: () => void): Transform {
  let passed = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const room = limit - passed;
      if (chunk.length < room) {
        passed += chunk.length;
        return callback(null, chunk);
      }
      this.push(chunk.subarray(0, room));
      passed = limit;
      // Let the bytes before the cut reach their destination, then kill the connection.
      setImmediate(() => {
        kill();
        callback(new Error(`cos-local fault: connection reset after ${limit} bytes`));
      });
    },
  });
}

function hasBody(ctx: Ctx): boolean {
  const length = ctx.req.headers["content-length"];
  return length !== undefined ? Number(length) > 0 : ctx.req.headers["transfer-encoding"] !== undefined;
}

/**
 * A lost response: the request is handled in full (the part stored, the upload completed), but
 * nothing of the answer is sent and the connection is cut when the handler finishes, so the caller
 * cannot tell whether the work was done. Complete's early 200 and heartbeat go nowhere either.
 */
function dropResponse(ctx: Ctx): void {
  const res = ctx.res;
  res.writeHead = (() => res) as typeof res.writeHead;
  res.write = (() => true) as typeof res.write;
  res.end = (() => {
    res.socket?.destroy();
    return res;
  }) as typeof res.end;
}

/**
 * Applies `fault`. Returns "handled" when the request is finished (socket destroyed), otherwise
 * "continue" after adjusting ctx; error kinds throw the CosLocalError COS would send.
 */
export async function applyFault(ctx: Ctx, fault: ActiveFault): Promise<"handled" | "continue"> {
  ctx.state.counters.faultInjected();
  ctx.fault = fault;
  switch (fault.kind) {
    case "reset": {
      const after = fault.afterBytes ?? 0;
      if (after > 0 && hasBody(ctx)) {
        const cut = cutAfter(after, () => ctx.req.socket.destroy());
        // The cut can come before the handler consumes the body (a small afterBytes, still checking
        // the signature): without a listener its error would be an uncaught exception in the process.
        cut.on("error", () => {});
        ctx.body = ctx.req.pipe(cut);
        return "continue";
      }
      if (after > 0 && ctx.method === "GET") {
        ctx.responseStages = () => [cutAfter(after, () => ctx.res.socket?.destroy())];
        return "continue";
      }
      ctx.req.socket.destroy();
      return "handled";
    }
    case "500":
      throw cosErrors.internal("cos-local fault: injected 500.");
    case "503":
      throw cosErrors.slowDown();
    case "expired":
      throw cosErrors.expired(ctx.now);
    case "denied":
      // What COS answers when the key's CAM policy does not allow the operation.
      throw cosErrors.accessDenied("cos-local fault: injected AccessDenied (as when a CAM policy does not allow this operation).");
    case "delay":
      await sleep(fault.delayMs ?? 1000);
      return "continue";
    case "slow":
      if (!fault.bitsPerSecond || fault.bitsPerSecond <= 0) throw new CosLocalError(500, "InternalError", "cos-local fault \"slow\" needs bitsPerSecond > 0.");
      ctx.trafficLimit = fault.bitsPerSecond;
      return "continue";
    case "complete-error-in-200":
      return "continue"; // the Complete handler writes the error inside its 200 body
    case "drop-response":
      dropResponse(ctx);
      return "continue";
  }
}
