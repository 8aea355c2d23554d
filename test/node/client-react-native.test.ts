// The React Native entry as an app would wire it (client/react-native.ts): an AsyncStorage-like
// store wrapped in the four lines platform/stores.ts documents, and a FileSource that reads a file
// URI by range. Node has no XMLHttpRequest, so the transport is Node's; the XHR stack itself is
// unit-tested in client-unit-stacks and in Chromium later. An app restart is a second uploader on
// the same store: it resumes the same upload and sends only the parts COS lacks.
import { afterEach, describe, expect, it } from "vitest";
import { defaultStack as nodeStack } from "../../client/node";
import { createUploader } from "../../client/react-native";
import type { FileSource, Store } from "../../client/types";
import { bytes } from "../shared/bytes";
import { until } from "../shared/until";
import { MiB, sha256, useClientHarness } from "./client-harness";

const harness = useClientHarness();
afterEach(() => harness().clearFaults());

/** Stands in for @react-native-async-storage/async-storage: async, string values. */
function fakeAsyncStorage() {
  const items = new Map<string, string>();
  return {
    getItem: async (k: string) => items.get(k) ?? null,
    setItem: async (k: string, v: string) => void items.set(k, v),
    removeItem: async (k: string) => void items.delete(k),
    getAllKeys: async () => [...items.keys()],
  };
}

/** A "file://" URI read by range, as an expo-file-system adapter would; records each read's length. */
function uriSource(data: Uint8Array, reads: number[]): FileSource {
  return {
    size: data.length,
    name: "video.mp4",
    lastModified: 1_700_000_000_000,
    type: "video/mp4",
    async slice(start, end) {
      reads.push(end - start);
      return data.slice(start, end);
    },
  };
}

describe("React Native entry", () => {
  it("asks for a store instead of silently losing checkpoints", () => {
    expect(() => createUploader({ endpoint: "http://127.0.0.1:1" } as Parameters<typeof createUploader>[0])).toThrow(/store/);
  });

  it("uploads from a URI source by range and resumes after an app restart from AsyncStorage", async () => {
    const h = harness();
    h.resetCounters();
    const AsyncStorage = fakeAsyncStorage();
    const store: Store = {
      get: (k) => AsyncStorage.getItem(k),
      set: (k, v) => AsyncStorage.setItem(k, v),
      remove: (k) => AsyncStorage.removeItem(k),
      keys: async (p) => (await AsyncStorage.getAllKeys()).filter((k) => k.startsWith(p)),
    };
    const data = bytes(5 * MiB + 4321, 42);
    const reads: number[] = [];
    const options = { endpoint: h.endpoint, getToken: h.getToken(), store, httpStack: nodeStack(), partSize: MiB, sliceSize: MiB, chunkParallelLimit: 2 };

    // First run: parts go slowly; the app is "killed" (paused and dropped) after the first part lands.
    h.fault({ kind: "slow", operation: "UploadPart", bitsPerSecond: 16 * MiB, count: 1000 });
    const first = createUploader(options).upload({ key: "users/alice/rn/video.mp4", body: uriSource(data, reads) });
    const accepted = () => Object.values(h.counters().parts).reduce((n, parts) => n + Object.keys(parts).length, 0);
    await until(() => accepted() >= 1, "a part to land", 20_000);
    first.pause();
    const firstUploadId = first.uploadId;
    expect(firstUploadId).toMatch(/\S/);
    expect((await store.keys("")).length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 600));
    h.clearFaults();

    // Second run, a new uploader on the same store: same upload, only the missing parts.
    const second = createUploader(options).upload({ key: "users/alice/rn/video.mp4", body: uriSource(data, reads) });
    const result = await second.done;
    expect(second.uploadId).toBe(firstUploadId);
    expect(sha256(await h.readBack(result.key))).toBe(sha256(data));
    const perPart = Object.values(h.counters().parts[firstUploadId!] ?? {});
    expect(perPart).toHaveLength(6);
    expect(perPart.every((times) => times === 1)).toBe(true);
    // Never more than one part's bytes read at a time, and the checkpoint is gone once done.
    expect(Math.max(...reads)).toBeLessThanOrEqual(MiB);
    expect(await store.keys("")).toEqual([]);
  });
});
