// CosDirect on the React Native entry (compat.ts): XHR, and the app's store for checkpoints, which the
// React Native uploader requires (AsyncStorage wrapped as platform/stores.ts shows, or memoryStore()).

import { CosDirect as PlatformCosDirect, type CosDirectOptions } from "./compat";
import { createUploader, defaultStack } from "./react-native";
import type { Store, Uploader, UploaderOptions } from "./types";

export * from "./compat";

export class CosDirect extends PlatformCosDirect {
  constructor(options: CosDirectOptions & { store: Store }) {
    super(options, { createUploader: (o: UploaderOptions): Uploader => createUploader({ ...o, store: options.store }), defaultStack });
  }
}
