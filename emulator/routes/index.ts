// Operation name → handler. request.ts names the operation; the handlers live one concern per file.

import type { Ctx } from "../context";
import { deleteBucketCors, deleteMultipleObjects, getBucket, getBucketCors, headBucket, listMultipartUploads, putBucketCors } from "./bucket";
import { abortMultipartUpload, completeMultipartUpload, initiateMultipartUpload, listParts, uploadPart } from "./multipart";
import { appendObject, deleteObject, getObject, headObject, putObject } from "./object";
import { postObject } from "./post-object";

export type Handler = (ctx: Ctx) => Promise<void>;

export const ROUTES: Record<string, Handler> = {
  PutObject: putObject,
  GetObject: getObject,
  HeadObject: headObject,
  DeleteObject: deleteObject,
  AppendObject: appendObject,
  PostObject: postObject,
  InitiateMultipartUpload: initiateMultipartUpload,
  UploadPart: uploadPart,
  ListParts: listParts,
  CompleteMultipartUpload: completeMultipartUpload,
  AbortMultipartUpload: abortMultipartUpload,
  ListMultipartUploads: listMultipartUploads,
  GetBucket: getBucket,
  HeadBucket: headBucket,
  PutBucketCors: putBucketCors,
  GetBucketCors: getBucketCors,
  DeleteBucketCors: deleteBucketCors,
  DeleteMultipleObjects: deleteMultipleObjects,
};

/** Operations that carry no object key even though they are addressed to the bucket root. */
export const BUCKET_OPERATIONS = new Set(["ListMultipartUploads", "GetBucket", "HeadBucket", "PutBucketCors", "GetBucketCors", "DeleteBucketCors", "DeleteMultipleObjects", "PostObject", "OptionsObject"]);
