import { ProblemError } from "./errors";

const tooLarge = (maxBytes: number) =>
  new ProblemError("payload_too_large", `request body must be at most ${maxBytes} bytes`);

/**
 * Reads a request body into memory, refusing it as soon as it is known to exceed `maxBytes`: at
 * once from `Content-Length` (a body within it is read whole), otherwise (chunked uploads) after
 * the first chunk that crosses the limit, so an oversized body is never buffered beyond
 * `maxBytes` plus one chunk.
 *
 * @throws ProblemError `payload_too_large` (413).
 * @example
 * const bytes = await readBodyLimited(c.req.raw, LIMITS.messageBytes);
 */
export async function readBodyLimited(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  if (request.body === null) return new Uint8Array(0);
  if (declared !== null && /^\d+$/.test(declared)) {
    // The runtime frames the body by its Content-Length, so it is read in one piece: the
    // common case, and cheaper than pulling chunks through a reader.
    const body = new Uint8Array(await request.arrayBuffer());
    if (body.byteLength > maxBytes) throw tooLarge(maxBytes);
    return body;
  }

  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const chunk = value instanceof Uint8Array ? value : new Uint8Array(value as ArrayBuffer);
    total += chunk.byteLength;
    if (total > maxBytes) {
      // Not awaited: the sender may still be writing, and the answer should not wait for it.
      reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(chunk);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Reads a JSON request body of at most `maxBytes`. Any content type is accepted, because
 * `curl -d` labels JSON as a form; an empty body reads as `{}` so that bodies whose fields are
 * all optional may be left out.
 *
 * @throws ProblemError `invalid_request` for malformed JSON, `payload_too_large` past the limit.
 * @example
 * const input = await readJsonBody(c.req.raw, CONTROL_BODY_BYTES);
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const bytes = await readBodyLimited(request, maxBytes);
  let text: string;
  try {
    text = textDecoder.decode(bytes);
  } catch {
    throw new ProblemError("invalid_request", "request body must be UTF-8 JSON");
  }
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ProblemError("invalid_request", "request body is not valid JSON");
  }
}
