// The one function of `node:crypto` the SQS layer uses (the runtime provides the module under the
// `nodejs_compat` flag in wrangler.toml). WebCrypto has no MD5, and SQS's checksums are MD5.
declare module "node:crypto" {
  interface Md5 {
    update(data: Uint8Array | string): Md5;
    digest(encoding: "hex"): string;
  }
  export function createHash(algorithm: "md5"): Md5;
}
