import type { IncomingMessage, ServerResponse } from 'node:http';
import { isUtf8 } from 'node:buffer';
import { ByteBudget } from './byte-budget.js';
import { DEFAULT_BODY_LIMITS, readBody, type BodyLimits } from './body.js';
import { SignatureCheck } from './signature.js';

/** What the receiver answers itself, before Probot sees a delivery. */
export interface GuardReply {
  status: number;
  body: string;
}

export interface GuardOptions {
  /** The GitHub App's webhook secret. */
  secret: string;
  path?: string;
  limits?: BodyLimits;
  /** Told of each delivery whose signature is good, before it is answered. */
  onSigned?: (req: IncomingMessage) => void;
}

type NodeMiddleware = (req: IncomingMessage, res: ServerResponse, next?: () => void) => unknown;

export const SIGNATURE_MISMATCH =
  '[@octokit/webhooks] signature does not match event payload and secret';
// What @octokit/webhooks 14 checks before it reads a delivery; it answers 415 and 400 itself.
const JSON_CONTENT_TYPE = /^\s*(application\/json)\s*(?:;|$)/u;
const REQUIRED_HEADERS = ['x-github-event', 'x-hub-signature-256', 'x-github-delivery'];
const REFUSALS = {
  408: 'request body timeout',
  413: 'payload too large',
  503: 'too many webhook bytes in flight, try again',
} as const;

/**
 * What to do with a delivery whose signature is good: hand its text on, or answer it here.
 * Here are answered the deliveries that @octokit/webhooks or Probot answer with a 500
 * although the sender is at fault (found by test/integration/webhook-fuzz.test.ts):
 * - a JSON value that is not an object or array (`null`, `5`, `"x"`): refused, 400;
 * - an empty event name ("Event name not passed"), or one that is a property of
 *   `Object.prototype` (`__proto__`, `hasOwnProperty`, `valueOf`): the hook table
 *   is a plain object;
 * - an `action` that is not a string: it is turned into a hook name with `${}`,
 *   which throws for `{"toString":1}`, and routes `["rerequested"]` as "rerequested";
 * - an `installation.id` that is there but not a number: Probot's event auth throws.
 * The last three are ignored (200), as any malformed delivery is. A body that is not
 * UTF-8 is refused (400); its signature would not survive the decoding.
 */
export function screenSigned(name: string, body: Buffer): { reply: GuardReply } | { text: string } {
  if (!isUtf8(body)) return { reply: json(400, { error: 'The payload must be UTF-8 text' }) };
  const text = body.toString('utf8');
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    return { text }; // @octokit/webhooks answers invalid JSON with a 400
  }
  const reply = screenPayload(name, payload);
  return reply ? { reply } : { text };
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
 * Wraps @octokit/webhooks' node middleware: reads a delivery's bytes once, within the
 * limits, checks their signature before anything else looks at them, screens what is
 * signed, and hands the text on (@octokit/webhooks takes a string `req.body` instead of
 * the stream, and checks the signature again). What @octokit/webhooks refuses on its
 * headers alone is handed on unread.
 */
export function guardWebhooks(middleware: NodeMiddleware, opts: GuardOptions): NodeMiddleware {
  const path = opts.path ?? '/api/github/webhooks';
  const limits = opts.limits ?? DEFAULT_BODY_LIMITS;
  const inFlight = new ByteBudget(limits.inFlightBytes);
  return async (req, res, next) => {
    if (req.method !== 'POST' || !isPath(req.url, path) || !looksLikeDelivery(req)) {
      return middleware(req, res, next);
    }
    const signature = new SignatureCheck(opts.secret);
    const read = await readBody(req, limits, inFlight, (chunk) => signature.update(chunk));
    if ('gone' in read) return true; // nobody to answer
    if ('refused' in read) {
      // The rest of the body is not wanted: answer, then close the connection.
      res
        .writeHead(read.refused, { 'content-type': 'application/json', connection: 'close' })
        .end(JSON.stringify({ error: REFUSALS[read.refused] }), () => req.destroy());
      return true;
    }
    if (!signature.matches(req.headers['x-hub-signature-256'] as string)) {
      // Word for word what @octokit/webhooks answers.
      send(res, json(400, { error: `Error: ${SIGNATURE_MISMATCH}` }));
      return true;
    }
    opts.onSigned?.(req);
    const screened = screenSigned(
      req.headers['x-github-event'] as string,
      Buffer.concat(read.chunks, read.size),
    );
    if ('reply' in screened) {
      send(res, screened.reply);
      return true;
    }
    (req as IncomingMessage & { body?: string }).body = screened.text;
    return middleware(req, res, next);
  };
}

function send(res: ServerResponse, reply: GuardReply): void {
  res.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.body);
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
