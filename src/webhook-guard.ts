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
// What @octokit/webhooks 14 checks before it reads a delivery; it answers 415 and 400 itself.
const JSON_CONTENT_TYPE = /^\s*(application\/json)\s*(?:;|$)/u;
const REQUIRED_HEADERS = ['x-github-event', 'x-hub-signature-256', 'x-github-delivery'];

/**
 * Deliveries that @octokit/webhooks or Probot answer with a 500 although the sender
 * is at fault (found by test/integration/webhook-fuzz.test.ts):
 * - a JSON value that is not an object or array (`null`, `5`, `"x"`): refused, 400;
 * - an empty event name ("Event name not passed"), or one that is a property of
 *   `Object.prototype` (`__proto__`, `hasOwnProperty`, `valueOf`): the hook table
 *   is a plain object;
 * - an `action` that is not a string: it is turned into a hook name with `${}`,
 *   which throws for `{"toString":1}`, and routes `["rerequested"]` as "rerequested";
 * - an `installation.id` that is there but not a number: Probot's event auth throws.
 * The last three are ignored (200), as any malformed delivery is. Nothing is answered
 * before the signature is checked. Returns the reply to send, or undefined to hand
 * the delivery on.
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
  const reply = screenPayload(name, payload);
  if (!reply) return undefined;
  const signed = await webhooks.verify(body, signature).catch(() => false);
  return signed ? reply : json(400, { error: SIGNATURE_MISMATCH });
}

function screenPayload(name: string, payload: unknown): GuardReply | undefined {
  if (payload === null || typeof payload !== 'object') {
    return json(400, { error: 'The payload must be a JSON object' });
  }
  const reason =
    name === '' || name in Object.prototype
      ? 'unknown event name'
      : malformedAction(payload)
        ? 'malformed action'
        : malformedInstallation(payload)
          ? 'malformed installation id'
          : undefined;
  return reason ? json(200, { ignored: reason }) : undefined;
}

/**
 * Wraps Probot's node middleware: reads a webhook delivery once, screens it, and hands
 * the text on (@octokit/webhooks takes a string `req.body` instead of the stream).
 * What @octokit/webhooks refuses on its headers alone is handed on unread.
 */
export function guardWebhooks(
  webhooks: SignatureVerifier,
  middleware: NodeMiddleware,
  path = '/api/github/webhooks',
): NodeMiddleware {
  return async (req, res, next) => {
    if (req.method !== 'POST' || !isPath(req.url, path) || !looksLikeDelivery(req)) {
      return middleware(req, res, next);
    }
    const body = await readBody(req, res);
    if (body === undefined) return true;
    const early = await screenWebhook(
      webhooks,
      req.headers['x-github-event'] as string,
      body,
      req.headers['x-hub-signature-256'] as string,
    );
    if (early) {
      res.writeHead(early.status, { 'content-type': 'application/json' }).end(early.body);
      return true;
    }
    (req as IncomingMessage & { body?: string }).body = body;
    return middleware(req, res, next);
  };
}

/** The path test of @octokit/webhooks: trailing slashes do not count, the query does. */
function isPath(url: string | undefined, path: string): boolean {
  try {
    return new URL(trimSlashes(url ?? '/'), 'http://localhost').pathname === trimSlashes(path);
  } catch {
    return false; // @octokit/webhooks answers an unparsable URL itself
  }
}

const trimSlashes = (path: string): string => path.replace(/\/+$/, '') || '/';

function looksLikeDelivery(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  return (
    typeof type === 'string' &&
    JSON_CONTENT_TYPE.test(type) &&
    REQUIRED_HEADERS.every((h) => typeof req.headers[h] === 'string')
  );
}

/**
 * The body as text, or undefined once it was refused as too large or the sender went
 * away before sending all of it (nothing to answer then).
 */
function readBody(req: IncomingMessage, res: ServerResponse): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const give = (body: string | undefined) => {
      // The error listener stays: an aborted request may still report one.
      req.off('data', onData).off('end', onEnd).off('close', onClose);
      resolve(body);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      // GitHub caps payloads at 25 MB: anything larger is not a delivery; never buffer it.
      if (size > MAX_BODY) {
        res
          .writeHead(413, { 'content-type': 'application/json' })
          .end('{"error":"payload too large"}');
        req.destroy();
        return give(undefined);
      }
      chunks.push(chunk);
    };
    const onEnd = () => give(Buffer.concat(chunks, size).toString('utf8'));
    const onClose = () => give(undefined);
    req.on('data', onData).on('end', onEnd).on('close', onClose).on('error', onClose);
  });
}

function malformedAction(payload: object): boolean {
  const action = (payload as { action?: unknown }).action;
  // GitHub sends a string, or no action at all.
  return action !== undefined && action !== null && typeof action !== 'string';
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
