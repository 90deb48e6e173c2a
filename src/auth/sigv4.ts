import { adminKeyMatches } from "./admin-key";

/**
 * AWS Signature Version 4 (the `Authorization: AWS4-HMAC-SHA256 …` header every AWS SDK sends),
 * verified with a secret the broker knows. The steps are AWS's:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */

/** The parts of a SigV4 `Authorization` header. */
export interface SigV4Header {
  accessKeyId: string;
  /** `YYYYMMDD` of the credential scope. */
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

export type SigV4Failure = {
  ok: false;
  reason: "incomplete" | "expired" | "mismatch";
  detail: string;
};

/** How far a request's `X-Amz-Date` may be from the broker's clock, as AWS allows. */
export const MAX_SKEW_MS = 15 * 60_000;

const HEADER_RE =
  /^AWS4-HMAC-SHA256 +Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request, *SignedHeaders=([a-z0-9;_.-]+), *Signature=([0-9a-f]{64})$/;

/**
 * Reads a SigV4 `Authorization` header; `null` when it is not one.
 *
 * @example
 * parseSigV4("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=…");
 */
export function parseSigV4(authorization: string): SigV4Header | null {
  const m = HEADER_RE.exec(authorization.trim());
  if (!m) return null;
  const [, accessKeyId, date, region, service, signed, signature] = m as unknown as string[];
  return {
    accessKeyId: accessKeyId as string,
    date: date as string,
    region: region as string,
    service: service as string,
    signedHeaders: (signed as string).split(";"),
    signature: signature as string,
  };
}

const encoder = new TextEncoder();

const hex = (bytes: ArrayBuffer): string =>
  [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

// Copied into fresh ArrayBuffers: the typings of workerd and the DOM disagree on what a view may hold.
const bytes = (data: Uint8Array | string): Uint8Array<ArrayBuffer> =>
  new Uint8Array(typeof data === "string" ? encoder.encode(data) : data);

const sha256 = async (data: Uint8Array | string): Promise<string> =>
  hex(await crypto.subtle.digest("SHA-256", bytes(data)));

async function hmac(key: Uint8Array<ArrayBuffer> | ArrayBuffer, data: string): Promise<ArrayBuffer> {
  const imported = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return crypto.subtle.sign("HMAC", imported, encoder.encode(data));
}

/** RFC 3986 encoding, as SigV4 wants: everything but unreserved characters. */
const uriEscape = (text: string): string =>
  encodeURIComponent(text).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);

function canonicalQuery(url: URL): string {
  const pairs = [...url.searchParams].map(([k, v]) => [uriEscape(k), uriEscape(v)] as const);
  pairs.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

/**
 * Verifies a request's SigV4 signature with `secret`, and that it was signed within 15 minutes
 * of `now`. The path is encoded twice, as for every service but S3; the payload hash is the
 * SHA-256 of `body`, which `X-Amz-Content-Sha256`, when sent, must equal.
 *
 * @example
 * const verdict = await verifySigV4(request, body, header, secretAccessKey, Date.now());
 * if (!verdict.ok) return refuse(verdict.detail);
 */
export async function verifySigV4(
  request: Request,
  body: Uint8Array,
  header: SigV4Header,
  secret: string,
  now: number,
): Promise<{ ok: true } | SigV4Failure> {
  const headers = request.headers;
  const amzDate = headers.get("x-amz-date") ?? "";
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m || !header.signedHeaders.includes("host") || !header.signedHeaders.includes("x-amz-date")) {
    return { ok: false, reason: "incomplete", detail: "the request must sign host and x-amz-date" };
  }
  if (amzDate.slice(0, 8) !== header.date) {
    return { ok: false, reason: "incomplete", detail: "the credential's date is not the X-Amz-Date's" };
  }
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as number[];
  const signedAt = Date.UTC(year as number, (month as number) - 1, day, hour, minute, second);
  if (Math.abs(now - signedAt) > MAX_SKEW_MS) {
    return {
      ok: false,
      reason: "expired",
      detail: `the request was signed at ${amzDate}, more than 15 minutes from now`,
    };
  }
  const url = new URL(request.url);
  const canonicalHeaders = header.signedHeaders
    .map((name) => {
      const value = name === "host" ? (headers.get("host") ?? url.host) : (headers.get(name) ?? "");
      return `${name}:${value.trim().replace(/\s+/g, " ")}\n`;
    })
    .join("");
  // The body's own hash, always: a signed X-Amz-Content-Sha256 must match it (an unsigned payload
  // would let anyone replace the body of a request they saw).
  const payloadHash = await sha256(body);
  const declared = headers.get("x-amz-content-sha256");
  if (declared !== null && declared !== payloadHash) {
    return { ok: false, reason: "mismatch", detail: "X-Amz-Content-Sha256 is not the body's SHA-256" };
  }
  const canonicalRequest = [
    request.method,
    uriEscape(url.pathname).replace(/%2F/g, "/"),
    canonicalQuery(url),
    canonicalHeaders,
    header.signedHeaders.join(";"),
    payloadHash,
  ].join("\n");
  const scope = `${header.date}/${header.region}/${header.service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, await sha256(canonicalRequest)].join("\n");
  let key = await hmac(bytes(`AWS4${secret}`), header.date);
  for (const part of [header.region, header.service, "aws4_request"]) key = await hmac(key, part);
  const expected = hex(await hmac(key, stringToSign));
  // Compared in constant time: a signature that matches more leading characters is no faster.
  if (!(await adminKeyMatches(header.signature, expected))) {
    return {
      ok: false,
      reason: "mismatch",
      detail: "the signature does not match the request and the secret",
    };
  }
  return { ok: true };
}
