// Checkpoints in IndexedDB (browsers), with file handles kept next to them. Two reasons to choose it
// over the default localStorage:
// - a FileSystemFileHandle can be stored (structured clone; Web Storage holds strings only), so
//   `unfinished()` hands it back after a reload and the upload resumes without the file being picked
//   again (peers.md §5.6: nobody else does this);
// - room: a 10,000-part upload's checkpoint is about 1 MB, a fifth of localStorage's usual 5 MB.
//
//   const uploader = createUploader({ endpoint, getToken, store: indexedDbStore() });
//   const [handle] = await showOpenFilePicker();            // or a drop's getAsFileSystemHandle()
//   uploader.upload({ body: handle });
//   // after a reload, in a click handler (only a click may ask to read the file again):
//   const u = (await uploader.unfinished()).find((u) => u.resumeOptions);
//   if ((await u.resumeOptions.body.requestPermission({ mode: "read" })) === "granted") uploader.upload(u.resumeOptions);
//
// The database (default "cos-direct") has two object stores keyed by checkpoint id: the checkpoints'
// text and the handles. remove() deletes both in one transaction.

import type { FileHandle, Store } from "../types";

const TEXT = "checkpoints";
const HANDLES = "handles";

export function indexedDbStore(name = "cos-direct", factory: IDBFactory = globalThis.indexedDB): Store {
  let opened: Promise<IDBDatabase> | undefined;
  const open = () =>
    (opened ??= new Promise<IDBDatabase>((resolve, reject) => {
      const request = factory.open(name, 1);
      request.onupgradeneeded = () => {
        for (const store of [TEXT, HANDLES]) request.result.createObjectStore(store);
      };
      request.onsuccess = () => {
        const db = request.result;
        // Another tab deleting or upgrading the database: let it, and reopen on the next call.
        db.onversionchange = () => {
          db.close();
          opened = undefined;
        };
        resolve(db);
      };
      request.onerror = () => reject(request.error);
    }).catch((error: unknown) => {
      opened = undefined; // refused now (private mode, quota): asked again next time
      throw error;
    }));

  /** One transaction over `stores`; resolves, once it commits, with the result of the request `body` returns. */
  async function run<T>(stores: string[], mode: IDBTransactionMode, body: (tx: IDBTransaction) => IDBRequest<T> | void): Promise<T | undefined> {
    const connection = open();
    const db = await connection;
    let tx: IDBTransaction;
    try {
      tx = db.transaction(stores, mode);
    } catch (error) {
      if (opened === connection) opened = undefined; // closed under us (storage cleared): reopen next time
      throw error;
    }
    const request = body(tx);
    return new Promise((resolve, reject) => {
      tx.oncomplete = () => resolve(request ? request.result : undefined);
      // A failed request aborts the transaction (its error is set by then; on "error" it is not yet).
      tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
    });
  }

  return {
    async get(key) {
      return (await run<string>([TEXT], "readonly", (tx) => tx.objectStore(TEXT).get(key))) ?? null;
    },
    async set(key, value) {
      await run([TEXT], "readwrite", (tx) => void tx.objectStore(TEXT).put(value, key));
    },
    async remove(key) {
      await run([TEXT, HANDLES], "readwrite", (tx) => {
        tx.objectStore(TEXT).delete(key);
        tx.objectStore(HANDLES).delete(key);
      });
    },
    async keys(prefix) {
      const keys = (await run([TEXT], "readonly", (tx) => tx.objectStore(TEXT).getAllKeys())) ?? [];
      return keys.map(String).filter((key) => key.startsWith(prefix));
    },
    async setHandle(key, handle) {
      await run([HANDLES], "readwrite", (tx) => void tx.objectStore(HANDLES).put(handle, key));
    },
    async getHandle(key) {
      return (await run<FileHandle>([HANDLES], "readonly", (tx) => tx.objectStore(HANDLES).get(key))) ?? null;
    },
  };
}
