// CosDirect on the Node entry (compat.ts): fetch with streamed bodies, and `FilePath` bodies (as in
// cos-nodejs-sdk-v5's sliceUploadFile/uploadFile) read from disk by range, never whole.

import { CosDirect as PlatformCosDirect, type CosDirectOptions } from "./compat";
import { createUploader, defaultStack } from "./node";

export * from "./compat";

export class CosDirect extends PlatformCosDirect {
  constructor(options: CosDirectOptions) {
    super(options, { createUploader, defaultStack });
  }
}
