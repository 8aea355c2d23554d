// Upload progress (issue 4 "Progress"): `loaded` counts bytes COS accepted plus bytes of parts in
// flight, never goes down (a failed part's bytes are taken back from the count, but the report stays
// at its previous high until new bytes pass it; only an upload that starts over goes back to 0),
// never exceeds `total`; `speed` is an EWMA.

import type { Progress } from "./types";

/** Time constant of the speed average, in ms: about the last few seconds count. */
const SPEED_TAU = 3000;

export class ProgressMeter {
  private accepted = 0;
  private readonly inflight = new Map<number, number>();
  private reported = 0;
  private speed = 0;
  private lastAt: number;
  private lastLoaded = 0;

  constructor(
    readonly total: number,
    private readonly now: () => number = Date.now,
  ) {
    this.lastAt = now();
  }

  /** Bytes already in COS when the task starts (a resumed upload's finished parts). */
  start(accepted: number): void {
    this.accepted = accepted;
    this.reported = Math.max(this.reported, Math.min(this.total, accepted));
    this.lastLoaded = this.reported;
    this.lastAt = this.now();
  }

  /** The upload starts over (the bytes sent are not in COS): from 0, the one time `loaded` goes down. */
  restart(): void {
    this.inflight.clear();
    this.reported = 0;
    this.speed = 0;
    this.start(0);
  }

  /** Bytes of part `id` sent so far. */
  sending(id: number, sent: number): void {
    this.inflight.set(id, sent);
  }

  /** Part `id` has its ETag: its `size` bytes are accepted. */
  accept(id: number, size: number): void {
    this.inflight.delete(id);
    this.accepted += size;
  }

  /** Part `id` failed or was aborted: its bytes in flight are taken back. */
  drop(id: number): void {
    this.inflight.delete(id);
  }

  /** Everything is in COS. */
  finish(): void {
    this.inflight.clear();
    this.accepted = this.total;
  }

  /** Bytes COS holds or is receiving right now (may go down; `snapshot().loaded` does not). */
  get current(): number {
    let sum = this.accepted;
    for (const n of this.inflight.values()) sum += n;
    return Math.min(this.total, sum);
  }

  snapshot(): Progress {
    this.reported = Math.max(this.reported, this.current);
    const at = this.now();
    const dt = at - this.lastAt;
    if (dt > 0) {
      const instant = ((this.reported - this.lastLoaded) * 1000) / dt;
      const weight = 1 - Math.exp(-dt / SPEED_TAU);
      this.speed = this.speed === 0 ? instant : this.speed + weight * (instant - this.speed);
      this.lastAt = at;
      this.lastLoaded = this.reported;
    }
    return progressOf(this.reported, this.total, this.speed);
  }
}

export function progressOf(loaded: number, total: number, speed: number): Progress {
  const left = total - loaded;
  return {
    loaded,
    total,
    speed,
    percent: total === 0 ? (loaded === total ? 100 : 0) : Math.min(100, (loaded / total) * 100),
    eta: left === 0 ? 0 : speed > 0 ? left / speed : null,
  };
}

/** Sum of several tasks' progress (uploadFiles' aggregate). */
export function sumProgress(list: Progress[]): Progress {
  let loaded = 0;
  let total = 0;
  let speed = 0;
  for (const p of list) {
    loaded += p.loaded;
    total += p.total;
    speed += p.speed;
  }
  return progressOf(loaded, total, speed);
}
