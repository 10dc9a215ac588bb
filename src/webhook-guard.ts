import type { IncomingMessage, ServerResponse } from 'node:http';

/** What the receiver answers itself, before Probot sees a delivery. */
export interface GuardReply {
  status: number;
  body: string;
}

/** `probot.webhooks` (after `probot.ready()`), as far as the guard needs it. */
export interface SignatureVerifier {
  verify(payload: string, signature: string): Promise<boolean>;
}

type NodeMiddleware = (req: IncomingMessage, res: ServerResponse, next?: () => void) => unknown;

const MAX_BODY = 25 * 1024 * 1024;
const SIGNATURE_MISMATCH = '[@octokit/webhooks] signature does not match event payload and secret';

/**
 * Deliveries that @octokit/webhooks or Probot answer with a 500 although the sender
 * is at fault (found by test/integration/webhook-fuzz.test.ts):
 * - a JSON value that is not an object or array (`null`, `5`, `"x"`): refused, 400;
 * - an event name that is a property of `Object.prototype` (`__proto__`,
 *   `hasOwnProperty`, `valueOf`): the hook table is a plain object;
 * - an `installation.id` that is there but not a number: Probot's event auth throws.
 * The last two are ignored (200) once the signature is checked, as any malformed
 * delivery is. Returns the reply to send, or undefined to hand the delivery on.
 */
export async function screenWebhook(
  webhooks: SignatureVerifier,
  name: string,
  body: string,
  signature: string,
): Promise<GuardReply | undefined> {
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch {
    return undefined; // Probot answers invalid JSON with a 400, after the signature
  }
  if (payload === null || typeof payload !== 'object') {
    return json(400, { error: 'The payload must be a JSON object' });
  }
  const reason =
    name in Object.prototype
      ? 'unknown event name'
      : malformedInstallation(payload)
        ? 'malformed installation id'
        : undefined;
  if (!reason) return undefined;
  const signed = await webhooks.verify(body, signature).catch(() => false);
  return signed ? json(200, { ignored: reason }) : json(400, { error: SIGNATURE_MISMATCH });
}

/**
 * Wraps Probot's node middleware: reads a webhook delivery once, screens it, and hands
 * the text on (@octokit/webhooks takes a string `req.body` instead of the stream).
 */
export function guardWebhooks(
  webhooks: SignatureVerifier,
  middleware: NodeMiddleware,
  path = '/api/github/webhooks',
): NodeMiddleware {
  return async (req, res, next) => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
    if (req.method !== 'POST' || pathname !== path) return middleware(req, res, next);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      // GitHub caps payloads at 25 MB: anything larger is not a delivery; never buffer it.
      if (size > MAX_BODY) {
        res
          .writeHead(413, { 'content-type': 'application/json' })
          .end('{"error":"payload too large"}');
        req.destroy();
        return true;
      }
      chunks.push(chunk as Buffer);
    }
    const body = Buffer.concat(chunks).toString('utf8');
    const name = req.headers['x-github-event'];
    const signature = req.headers['x-hub-signature-256'];
    const early =
      typeof name === 'string' && typeof signature === 'string'
        ? await screenWebhook(webhooks, name, body, signature)
        : undefined;
    if (early) {
      res.writeHead(early.status, { 'content-type': 'application/json' }).end(early.body);
      return true;
    }
    (req as IncomingMessage & { body?: string }).body = body;
    return middleware(req, res, next);
  };
}

function malformedInstallation(payload: object): boolean {
  const installation = (payload as { installation?: unknown }).installation;
  const id = (installation as { id?: unknown } | null | undefined)?.id;
  // Probot authenticates the event when the id is truthy; GitHub always sends a number.
  return Boolean(id) && !(Number.isSafeInteger(id) && (id as number) > 0);
}

function json(status: number, body: object): GuardReply {
  return { status, body: JSON.stringify(body) };
}
