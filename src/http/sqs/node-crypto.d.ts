// The one function of `node:crypto` the SQS layer uses (the runtime provides the module under the
// `nodejs_compat` flag in wrangler.toml): WebCrypto has no MD5, and SQS's checksums are MD5.
// Declared broadly enough to stand in for @types/node's, which the tests compile with.
declare module "node:crypto" {
  interface Hash {
    update(data: string | Uint8Array): Hash;
    digest(): Uint8Array;
    digest(encoding: "hex"): string;
  }
  export function createHash(algorithm: string): Hash;
}
