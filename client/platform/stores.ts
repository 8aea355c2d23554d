// Checkpoint stores (DESIGN.md "client/"). Anything with get/set/remove/keys fits `Store`.
// React Native: AsyncStorage has getItem/setItem/removeItem/getAllKeys, so wrap it in four lines:
//
//   const store: Store = {
//     get: (k) => AsyncStorage.getItem(k),
//     set: (k, v) => AsyncStorage.setItem(k, v),
//     remove: (k) => AsyncStorage.removeItem(k),
//     keys: async (p) => (await AsyncStorage.getAllKeys()).filter((k) => k.startsWith(p)),
//   };
//
// (`webStorageStore(AsyncStorage)` is NOT it: AsyncStorage is async, Web Storage is sync.)

import type { Store } from "../types";

export function memoryStore(): Store {
  const map = new Map<string, string>();
  return {
    async get(key) {
      return map.get(key) ?? null;
    },
    async set(key, value) {
      map.set(key, value);
    },
    async remove(key) {
      map.delete(key);
    },
    async keys(prefix) {
      return [...map.keys()].filter((k) => k.startsWith(prefix));
    },
  };
}

/** localStorage (or sessionStorage, or any Web Storage). Quota errors are not fatal to an upload. */
export function webStorageStore(storage: Storage = globalThis.localStorage): Store {
  return {
    async get(key) {
      return storage.getItem(key);
    },
    async set(key, value) {
      storage.setItem(key, value);
    },
    async remove(key) {
      storage.removeItem(key);
    },
    async keys(prefix) {
      const out: string[] = [];
      for (let i = 0; i < storage.length; i++) {
        const key = storage.key(i);
        if (key !== null && key.startsWith(prefix)) out.push(key);
      }
      return out;
    },
  };
}
