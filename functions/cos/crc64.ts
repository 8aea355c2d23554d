// CRC-64/XZ lives in the client library (client/crc64.ts), which must ship it without depending on
// functions/ (STYLE.md: the client imports nothing from functions/ but wire types). The protocol
// core, cos-local and the tests reach the one implementation through this module.
export { Crc64, crc64, crc64Combine } from "../../client/crc64";
