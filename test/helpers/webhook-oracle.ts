// What the HTTP receiver answers to a webhook delivery, and which commit it takes,
// restated from the rules the receiver is made of: @octokit/webhooks 14's node
// middleware (content type, required headers, signature, JSON), src/receiver/guard.ts,
// @octokit/webhooks' routing by event name and action, and the payload parsers the
// handlers use. The fuzz tests judge the receiver's answers by it.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { CHECK_NAME } from '../../src/plan/check-run-output.js';
import {
  parsePullRequest,
  parsePush,
  parseRerequest,
  type CommitEvent,
  type Parsed,
} from '../../src/plan/commit-event.js';

const JSON_CONTENT_TYPE = /^\s*(application\/json)\s*(?:;|$)/u;
const REQUIRED_HEADERS = ['x-github-event', 'x-hub-signature-256', 'x-github-delivery'];
const MAX_BODY = 25 * 1024 * 1024;

const rerequest = (payload: unknown): Parsed =>
  (payload as { action?: unknown }).action === 'rerequested'
    ? parseRerequest(payload, CHECK_NAME)
    : { ignore: 'not a rerequested action' };

/** The hook names src/app.ts registers, each with what its handler makes of a payload. */
export const ROUTES: Readonly<Record<string, (payload: unknown) => Parsed>> = {
  push: parsePush,
  'pull_request.opened': parsePullRequest,
  'pull_request.synchronize': parsePullRequest,
  'pull_request.reopened': parsePullRequest,
  'check_run.rerequested': rerequest,
  'check_suite.rerequested': rerequest,
};

/**
 * The other hooks src/app.ts registers. None takes a commit from the fuzz's deliveries:
 * installation changes only ask for a drift check, and a requested action (a button on
 * the check run) is done for a flavour admin only, and the fuzzed flavour has none.
 */
export const OTHER_HOOKS: readonly string[] = [
  'check_run.requested_action',
  'installation',
  'installation_repositories',
];

export interface Verdict {
  status: 200 | 400 | 413 | 415;
  /** The commit a handler takes (before it looks at which repositories are watched). */
  commit?: CommitEvent;
}

/**
 * The receiver's answer to a POST of `body` with `headers` (lower-case names, as
 * sent) to the webhook path, for the webhook secret `secret`.
 */
export function judgeDelivery(
  headers: Readonly<Record<string, string | undefined>>,
  body: string,
  secret: string,
): Verdict {
  // fetch trims header values; a missing content type is sent as text/plain.
  const header = (name: string) => headers[name]?.trim();
  if (!JSON_CONTENT_TYPE.test(header('content-type') ?? '')) return { status: 415 };
  // Present means present: @octokit/webhooks takes an empty value.
  if (REQUIRED_HEADERS.some((h) => header(h) === undefined)) return { status: 400 };
  if (Buffer.byteLength(body) > MAX_BODY) return { status: 413 };
  if (!signatureMatches(secret, body, header('x-hub-signature-256')!)) return { status: 400 };
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch {
    return { status: 400 };
  }
  if (payload === null || typeof payload !== 'object') return { status: 400 };
  const name = header('x-github-event')!;
  const action = (payload as { action?: unknown }).action;
  if (name === '' || name in Object.prototype) return { status: 200 };
  if (action !== undefined && action !== null && typeof action !== 'string') return { status: 200 };
  const id = (payload as { installation?: { id?: unknown } }).installation?.id;
  if (id && !(Number.isSafeInteger(id) && (id as number) > 0)) return { status: 200 };
  const hook = [name, ...(action ? [`${name}.${action}`] : [])].find((h) =>
    Object.hasOwn(ROUTES, h),
  );
  const parsed = hook === undefined ? undefined : ROUTES[hook](payload);
  return parsed && 'commit' in parsed ? { status: 200, commit: parsed.commit } : { status: 200 };
}

function signatureMatches(secret: string, body: string, signature: string): boolean {
  // @octokit/webhooks-methods refuses an empty payload or signature outright.
  if (!body || !signature) return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
