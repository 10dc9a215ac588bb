import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { githubRequestProblems } from './github-spec.js';

export interface RecordedRequest {
  method: string;
  path: string;
  /** The query string's parameters (`per_page`, `page`, `state`…). */
  query: URLSearchParams;
  body: unknown;
  authorization?: string;
}

type Reply = { status: number; body: unknown; headers?: Record<string, string> };
type Route = (req: RecordedRequest, params: string[]) => Reply | undefined;

export const INSTALLATION_TOKEN = 'ghs_testInstallationToken0000000000000';
export const OAUTH_CLIENT = { id: 'Iv1.testclient00000', secret: 'test-client-secret-0000' };
export const SESSION_SECRET = 'test-session-secret-0123456789abcdef0123456789';

/**
 * A local server standing in for GitHub Enterprise (GHE_HOST, GHE_PROTOCOL=http):
 * it answers the few endpoints the deployer uses, refuses requests GitHub's API
 * description would refuse, and records everything for assertions.
 */
export class GitHubStandIn {
  readonly requests: RecordedRequest[] = [];
  readonly problems: string[] = [];
  private server?: Server;
  private nextId = 1000;
  private readonly routes: [string, RegExp, Route][] = [];
  host = '';
  /** Who signs in through the OAuth web flow next (GitHub's login page, skipped). */
  oauthLogin = 'alice';
  readonly oauthCodes = new Map<string, string>();
  readonly userTokens = new Map<string, string>();
  /** GitHub's id of each login (a login not here gets one of its own on first use). */
  readonly userIds = new Map<string, number>();
  /** Private repositories (`owner/name`) and who can read each; any other repository is public. */
  readonly privateRepos = new Map<string, Set<string>>();

  constructor() {
    this.route('POST', /^\/app\/installations\/(\d+)\/access_tokens$/, () => ({
      status: 201,
      body: {
        token: INSTALLATION_TOKEN,
        expires_at: new Date(Date.now() + 3600_000).toISOString(),
      },
    }));
    this.route('POST', /^\/repos\/([^/]+)\/([^/]+)\/check-runs$/, (req) => ({
      status: 201,
      body: { id: this.nextId++, ...(req.body as object) },
    }));
    this.route('POST', /^\/repos\/([^/]+)\/([^/]+)\/deployments$/, (req) => ({
      status: 201,
      body: { id: this.nextId++, ...(req.body as object) },
    }));
    this.route(
      'POST',
      /^\/repos\/([^/]+)\/([^/]+)\/deployments\/(\d+)\/statuses$/,
      (req, [, , id]) => ({
        status: 201,
        body: { id: this.nextId++, deployment_id: Number(id), ...(req.body as object) },
      }),
    );
    this.route('GET', /^\/user$/, (req) => {
      const login = this.userTokens.get((req.authorization ?? '').replace(/^(token|bearer) /i, ''));
      return login
        ? { status: 200, body: { login, id: this.userId(login), type: 'User' } }
        : { status: 401, body: { message: 'Bad credentials' } };
    });
    // With a user's token, as GitHub answers it: 404 for a repository they cannot read.
    this.route('GET', /^\/repos\/([^/]+)\/([^/]+)$/, (req, [owner, name]) => {
      const login = this.userTokens.get((req.authorization ?? '').replace(/^(token|bearer) /i, ''));
      if (!login) return { status: 401, body: { message: 'Bad credentials' } };
      const fullName = `${owner}/${name}`;
      const readers = this.privateRepos.get(fullName);
      if (readers && !readers.has(login)) return { status: 404, body: { message: 'Not Found' } };
      return {
        status: 200,
        body: { id: 1, name, full_name: fullName, private: readers !== undefined },
      };
    });
    this.route('PATCH', /^\/repos\/([^/]+)\/([^/]+)\/check-runs\/(\d+)$/, (req, [, , id]) => ({
      status: 200,
      body: { id: Number(id), ...(req.body as object) },
    }));
  }

  private readonly webFlow = webFlowOf(this);

  userId(login: string): number {
    if (!this.userIds.has(login)) this.userIds.set(login, 5000 + this.userIds.size);
    return this.userIds.get(login)!;
  }

  /** Probot's environment for the App's OAuth credentials (web UI sign-in). */
  oauthEnv(): Record<string, string> {
    return {
      GITHUB_CLIENT_ID: OAUTH_CLIENT.id,
      GITHUB_CLIENT_SECRET: OAUTH_CLIENT.secret,
      DEPLOYER_SESSION_SECRET: SESSION_SECRET,
    };
  }

  route(method: string, pattern: RegExp, handler: Route): void {
    this.routes.unshift([method, pattern, handler]);
  }

  /**
   * Answers `GET pattern` with `items()` a page at a time, as GitHub pages a list: `per_page`
   * (30 unless asked, at most 100, and at most `maxPage` here so that few items make several
   * pages) and `page`, with the other pages in a `Link` header.
   */
  listRoute(
    pattern: RegExp,
    items: (req: RecordedRequest, params: string[]) => unknown[] | undefined,
    maxPage = 100,
  ): void {
    this.route('GET', pattern, (req, params) => {
      const all = items(req, params);
      if (!all) return undefined;
      const perPage = Math.min(Number(req.query.get('per_page') ?? 30), 100, maxPage);
      const page = Number(req.query.get('page') ?? 1);
      const last = Math.max(1, Math.ceil(all.length / perPage));
      const url = (n: number) => {
        const query = new URLSearchParams(req.query);
        query.set('page', String(n));
        return `<http://${this.host}/api/v3${req.path}?${query.toString()}>`;
      };
      const links = [
        ...(page > 1 ? [`${url(page - 1)}; rel="prev"`] : []),
        ...(page < last ? [`${url(page + 1)}; rel="next"`, `${url(last)}; rel="last"`] : []),
        ...(page > 1 ? [`${url(1)}; rel="first"`] : []),
      ];
      return {
        status: 200,
        body: all.slice((page - 1) * perPage, page * perPage),
        ...(links.length ? { headers: { link: links.join(', ') } } : {}),
      };
    });
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) =>
      this.handle(req, res).catch((err: Error) => {
        this.problems.push(`stand-in error: ${err.message}`);
        send(res, { status: 500, body: { message: err.message } });
      }),
    );
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.host = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }

  /** Probot's environment for GitHub Enterprise at this server. */
  env(): Record<string, string> {
    return { GHE_HOST: this.host, GHE_PROTOCOL: 'http' };
  }

  checkRunWrites(): RecordedRequest[] {
    return this.requests.filter((r) => r.path.includes('/check-runs'));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString();
    if ((req.url ?? '').startsWith('/login/oauth/')) return this.webFlow(req, text, res);
    const [path, query] = (req.url ?? '/').replace(/^\/api\/v3/, '').split('?');
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path,
      query: new URLSearchParams(query ?? ''),
      body: text ? JSON.parse(text) : undefined,
      authorization: req.headers.authorization,
    };
    this.requests.push(recorded);
    const problems = githubRequestProblems(recorded.method, path, recorded.body);
    if (problems.length) {
      this.problems.push(...problems);
      return send(res, { status: 422, body: { message: 'Validation Failed', errors: problems } });
    }
    for (const [method, pattern, handler] of this.routes) {
      const match = method === recorded.method ? pattern.exec(path) : null;
      const reply = match && handler(recorded, match.slice(1));
      if (reply) return send(res, reply);
    }
    send(res, { status: 404, body: { message: 'Not Found' } });
  }
}

/** GitHub's OAuth web flow (not part of the REST API): authorize, then exchange the code. */
function webFlowOf(standIn: {
  oauthLogin: string;
  oauthCodes: Map<string, string>;
  userTokens: Map<string, string>;
  problems: string[];
}) {
  return (req: IncomingMessage, text: string, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
      const redirect = url.searchParams.get('redirect_uri');
      if (url.searchParams.get('client_id') !== OAUTH_CLIENT.id || !redirect) {
        standIn.problems.push(`authorize: bad client_id or no redirect_uri in ${req.url}`);
        return send(res, { status: 400, body: { error: 'bad request' } });
      }
      const code = randomUUID();
      standIn.oauthCodes.set(code, standIn.oauthLogin);
      const back = new URL(redirect);
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      return void res.writeHead(302, { location: back.toString() }).end();
    }
    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
      const body = JSON.parse(text || '{}') as Record<string, string>;
      const login = standIn.oauthCodes.get(body.code);
      if (body.client_id !== OAUTH_CLIENT.id || body.client_secret !== OAUTH_CLIENT.secret) {
        return send(res, { status: 200, body: { error: 'incorrect_client_credentials' } });
      }
      if (!login) return send(res, { status: 200, body: { error: 'bad_verification_code' } });
      standIn.oauthCodes.delete(body.code);
      const token = `ghu_${randomUUID().replace(/-/g, '')}`;
      standIn.userTokens.set(token, login);
      return send(res, {
        status: 200,
        body: { access_token: token, token_type: 'bearer', scope: '' },
      });
    }
    send(res, { status: 404, body: { message: 'Not Found' } });
  };
}

function send(res: ServerResponse, reply: Reply): void {
  res
    .writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers })
    .end(JSON.stringify(reply.body));
}
