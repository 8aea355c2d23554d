// Signature test vectors from cos-protocol.md §1.5 and §4 (produced by the official SDKs or the
// doc's worked examples). Shared by the Node and the workerd test projects.

export const DOC_CREDENTIALS = {
  secretId: "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q",
  secretKey: "BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz",
};

export interface SignVector {
  name: string;
  method: string;
  pathname: string;
  keyTime: string;
  query: Record<string, string | number>;
  headers: Record<string, string | number>;
  signKey?: string;
  httpString?: string;
  httpStringSha1?: string;
  headerList: string;
  urlParamList: string;
  signature: string;
}

const V1_HEADERS = {
  date: "Thu, 16 May 2019 06:45:51 GMT",
  host: "examplebucket-1250000000.cos.ap-beijing.myqcloud.com",
  "content-type": "text/plain",
  "content-length": "13",
  "content-md5": "mQ/fVh815F3k6TAUm8m0eg==",
  "x-cos-acl": "private",
  "x-cos-grant-read": 'uin="100000000011"',
};

export const SIGN_VECTORS: SignVector[] = [
  {
    name: "V1 doc upload, Date signed",
    method: "PUT",
    pathname: "/exampleobject(腾讯云)",
    keyTime: "1557989151;1557996351",
    query: {},
    headers: V1_HEADERS,
    signKey: "eb2519b498b02ac213cb1f3d1a3d27a3b3c9bc5f",
    httpStringSha1: "8b2751e77f43a0995d6e9eb9477f4b685cca4172",
    headerList: "content-length;content-md5;content-type;date;host;x-cos-acl;x-cos-grant-read",
    urlParamList: "",
    signature: "3b8851a11a569213c17ba8fa7dcf2abec6935172",
  },
  {
    name: "V1 as the SDK signs it (no Date)",
    method: "PUT",
    pathname: "/exampleobject(腾讯云)",
    keyTime: "1557989151;1557996351",
    query: {},
    headers: Object.fromEntries(Object.entries(V1_HEADERS).filter(([name]) => name !== "date")),
    headerList: "content-length;content-md5;content-type;host;x-cos-acl;x-cos-grant-read",
    urlParamList: "",
    signature: "fc4e4717b501da12715d5fc84a4880a87ad2b7ab",
  },
  {
    name: "V2 doc download",
    method: "GET",
    pathname: "/exampleobject(腾讯云)",
    keyTime: "1557989753;1557996953",
    query: { "response-content-type": "application/octet-stream", "response-cache-control": "max-age=600" },
    headers: { date: "Thu, 16 May 2019 06:55:53 GMT", host: "examplebucket-1250000000.cos.ap-beijing.myqcloud.com" },
    signKey: "937914bf490e9e8c189836aad2052e4feeb35eaf",
    httpString:
      "get\n/exampleobject(腾讯云)\nresponse-cache-control=max-age%3D600&response-content-type=application%2Foctet-stream\ndate=Thu%2C%2016%20May%202019%2006%3A55%3A53%20GMT&host=examplebucket-1250000000.cos.ap-beijing.myqcloud.com\n",
    httpStringSha1: "54ecfe22f59d3514fdc764b87a32d8133ea611e6",
    headerList: "date;host",
    urlParamList: "response-cache-control;response-content-type",
    signature: "01681b8c9d798a678e43b685a9f1bba0f6c0e012",
  },
  {
    name: "V3 Upload Part (Node SDK)",
    method: "PUT",
    pathname: "/dir/my file+(1)!.bin",
    keyTime: "1700000000;1700003600",
    query: { partNumber: 3, uploadId: "1700000000a1b2c3d4e5f6" },
    headers: {
      "Content-Length": "5242880",
      "Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg==",
      "x-cos-traffic-limit": "819200",
      "Content-Type": "application/octet-stream",
      Host: "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com",
    },
    httpString:
      "put\n/dir/my file+(1)!.bin\npartnumber=3&uploadid=1700000000a1b2c3d4e5f6\ncontent-length=5242880&content-md5=1B2M2Y8AsgTpgAmY7PhCfg%3D%3D&content-type=application%2Foctet-stream&host=examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com&x-cos-traffic-limit=819200\n",
    httpStringSha1: "6445e2c11f04bf7d789c6d4739110bd6bd8883ea",
    headerList: "content-length;content-md5;content-type;host;x-cos-traffic-limit",
    urlParamList: "partnumber;uploadid",
    signature: "7c4dec9831ea937b3bb96e727060ab1bfab0e362",
  },
  {
    name: "V3 as the browser SDK signs it (no content-type)",
    method: "PUT",
    pathname: "/dir/my file+(1)!.bin",
    keyTime: "1700000000;1700003600",
    query: { partNumber: 3, uploadId: "1700000000a1b2c3d4e5f6" },
    headers: {
      "Content-Length": "5242880",
      "Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg==",
      "x-cos-traffic-limit": "819200",
      Host: "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com",
    },
    headerList: "content-length;content-md5;host;x-cos-traffic-limit",
    urlParamList: "partnumber;uploadid",
    signature: "52dfc57855f5dc60d04ce6648b5f7d2eae45c5aa",
  },
  {
    name: "V4 default window GET",
    method: "GET",
    pathname: "/a/b.txt",
    keyTime: "1699999999;1700000899",
    query: {},
    headers: { host: "examplebucket-1250000000.cos.ap-beijing.myqcloud.com" },
    headerList: "host",
    urlParamList: "",
    signature: "d30ea94153bb57a1b87d91cd24da7fc22c2329cd",
  },
];

/** V5: an STS presigned PUT URL (getObjectUrl with temporary credentials). */
export const PRESIGN_VECTOR = {
  credentials: { secretId: "AKIDtmpEXAMPLE", secretKey: "tmpSecretKeyEXAMPLE", securityToken: "tokenEXAMPLE+/=" },
  target: { bucket: "examplebucket-1250000000", region: "ap-shanghai" },
  method: "PUT",
  key: "上传/photo 1.jpg",
  keyTime: "1700000000;1700000600",
  path: "https://examplebucket-1250000000.cos.ap-shanghai.myqcloud.com/%E4%B8%8A%E4%BC%A0/photo%201.jpg",
  signature: "7b2305a9b4e61f2b8ce304a337bd7c0e8991fa8d",
};

/** §4 POST Object policy vector. */
export const POLICY_VECTOR = {
  keyTime: "1700000000;1700000600",
  policy:
    '{"expiration":"2023-11-14T22:23:20.000Z","conditions":[{"q-sign-algorithm":"sha1"},{"q-ak":"AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q"},{"q-sign-time":"1700000000;1700000600"},{"bucket":"examplebucket-1250000000"},{"key":"uploads/a.png"}]}',
  signKey: "5c2136b244ad1ccb28e126fe4be5c7cd259d0dc8",
  policySha1: "99e5b5fc05e7c1c6622cb5c5d5bdf26585e746b5",
  signature: "6ae65e65cbda50d075a1e5d1c58c31a0652d462e",
};

/** CRC-64/XZ check values (§4 CRC64). */
export const CRC64_VECTORS: [string, string][] = [
  ["123456789", "11051210869376104954"],
  ["", "0"],
  ["hello", "11177612005948864433"],
  ["hello world", "5981764153023615706"],
];
