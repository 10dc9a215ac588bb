import { createHmac, timingSafeEqual, type Hmac } from 'node:crypto';

/**
 * GitHub's `X-Hub-Signature-256` check over a delivery's bytes, fed as they arrive, so
 * nothing is decoded or parsed before the signature is known good (and no 25 MB string
 * is built for a sender who cannot sign). @octokit/webhooks-methods only signs strings.
 */
export class SignatureCheck {
  readonly #hmac: Hmac;
  #bytes = 0;

  constructor(private readonly secret: string) {
    this.#hmac = createHmac('sha256', secret);
  }

  update(chunk: Uint8Array | string): this {
    this.#bytes += chunk.length;
    this.#hmac.update(chunk);
    return this;
  }

  /** Compared in constant time; like @octokit/webhooks, an empty body or signature never matches. */
  matches(signature: string | undefined): boolean {
    if (!this.secret || this.#bytes === 0 || !signature) return false;
    const expected = Buffer.from(`sha256=${this.#hmac.digest('hex')}`);
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

/** Whether `signature` is GitHub's signature of `payload` (bytes, or text as UTF-8) under `secret`. */
export function signatureMatches(
  secret: string,
  payload: Uint8Array | string,
  signature: string | undefined,
): boolean {
  return new SignatureCheck(secret).update(payload).matches(signature);
}
