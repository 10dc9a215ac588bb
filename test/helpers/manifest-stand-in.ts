import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { githubRequestProblems, githubResponseProblems } from './github-spec.js';

export interface ManifestPost {
  path: string;
  state: string | null;
  manifest: Record<string, unknown>;
}

export interface RegisteredByStandIn {
  id: number;
  slug: string;
  pem: string;
  webhook_secret: string;
  client_id: string;
  client_secret: string;
  html_url: string;
}

interface Pending {
  manifest: Record<string, unknown>;
  owner: string;
  used: boolean;
}

/**
 * GitHub Enterprise's side of the App manifest flow, on loopback: the "new App"
 * page a manifest is posted to (answered as if the user clicked "Create GitHub
 * App": a redirect to the manifest's redirect_url with a code and the state), and
 * `POST /api/v3/app-manifests/{code}/conversions`, answered in the shape GitHub's
 * API description gives, once per code.
 */
export class ManifestStandIn {
  readonly posts: ManifestPost[] = [];
  readonly conversions: { path: string; body: string; authorization?: string }[] = [];
  readonly problems: string[] = [];
  readonly registered: RegisteredByStandIn[] = [];
  private readonly codes = new Map<string, Pending>();
  private server?: Server;
  private nextId = 4242;
  host = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) =>
      this.handle(req, res).catch((err: Error) => {
        this.problems.push(`stand-in error: ${err.message}`);
        json(res, 500, { message: err.message });
      }),
    );
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.host = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }

  /** The deployer's environment for GitHub Enterprise at this server. */
  env(): Record<string, string> {
    return { GHE_HOST: this.host, GHE_PROTOCOL: 'http' };
  }

  /** A code GitHub would give for `manifest`, as if the browser had been through the form. */
  issueCode(manifest: Record<string, unknown>, owner = 'octo-admin'): string {
    const code = randomBytes(20).toString('hex');
    this.codes.set(code, { manifest, owner, used: false });
    return code;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString();
    const url = new URL(req.url ?? '/', `http://${this.host}`);
    const form = /^(?:\/organizations\/([^/]+))?\/settings\/apps\/new$/.exec(url.pathname);
    if (req.method === 'POST' && form) return this.newApp(url, form[1], body, req, res);
    const conversion = /^\/api\/v3(\/app-manifests\/([^/]+)\/conversions)$/.exec(url.pathname);
    if (conversion) return this.convert(req, conversion[1], conversion[2], body, res);
    json(res, 404, { message: 'Not Found' });
  }

  private newApp(
    url: URL,
    org: string | undefined,
    body: string,
    req: IncomingMessage,
    res: ServerResponse,
  ): void {
    if (!req.headers['content-type']?.startsWith('application/x-www-form-urlencoded'))
      this.problems.push(`new App: a form post expected, got ${req.headers['content-type']}`);
    const text = new URLSearchParams(body).get('manifest');
    let manifest: Record<string, unknown>;
    try {
      manifest = JSON.parse(text ?? '') as Record<string, unknown>;
    } catch {
      this.problems.push(`new App: manifest is not JSON: ${text}`);
      return void res.writeHead(422).end('Invalid manifest');
    }
    this.posts.push({ path: url.pathname, state: url.searchParams.get('state'), manifest });
    const problems = manifestProblems(manifest);
    if (problems.length) {
      this.problems.push(...problems);
      return void res.writeHead(422).end(problems.join('\n'));
    }
    const back = new URL(manifest.redirect_url as string);
    back.searchParams.set('code', this.issueCode(manifest, org ?? 'octo-admin'));
    const state = url.searchParams.get('state');
    if (state !== null) back.searchParams.set('state', state);
    res.writeHead(302, { location: back.toString() }).end();
  }

  private convert(
    req: IncomingMessage,
    path: string,
    code: string,
    body: string,
    res: ServerResponse,
  ): void {
    this.conversions.push({ path, body, authorization: req.headers.authorization });
    const problems = githubRequestProblems(
      req.method ?? 'GET',
      path,
      body ? JSON.parse(body) : undefined,
    );
    if (problems.length) {
      this.problems.push(...problems);
      return json(res, 422, { message: 'Validation Failed', errors: problems });
    }
    const pending = this.codes.get(code);
    if (!pending || pending.used) return json(res, 404, { message: 'Not Found' });
    pending.used = true;
    const reply = this.app(pending);
    this.problems.push(...githubResponseProblems('POST', path, 201, reply));
    json(res, 201, reply);
  }

  private app({ manifest, owner }: Pending): Record<string, unknown> {
    const id = this.nextId++;
    const name = String(manifest.name);
    const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
    const web = `http://${this.host}`;
    const api = `${web}/api/v3`;
    const now = new Date().toISOString();
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs1', format: 'pem' })
      .toString();
    const secrets = {
      id,
      slug,
      pem,
      webhook_secret: randomBytes(20).toString('hex'),
      client_id: `Iv23li${randomBytes(7).toString('hex')}`,
      client_secret: randomBytes(20).toString('hex'),
      html_url: `${web}/apps/${slug}`,
    };
    this.registered.push(secrets);
    return {
      ...secrets,
      node_id: Buffer.from(`Integration${id}`).toString('base64'),
      owner: {
        login: owner,
        id: 7,
        node_id: 'MDEyOk9yZ2FuaXphdGlvbjc=',
        avatar_url: `${web}/avatars/u/7`,
        gravatar_id: '',
        url: `${api}/users/${owner}`,
        html_url: `${web}/${owner}`,
        followers_url: `${api}/users/${owner}/followers`,
        following_url: `${api}/users/${owner}/following{/other_user}`,
        gists_url: `${api}/users/${owner}/gists{/gist_id}`,
        starred_url: `${api}/users/${owner}/starred{/owner}{/repo}`,
        subscriptions_url: `${api}/users/${owner}/subscriptions`,
        organizations_url: `${api}/users/${owner}/orgs`,
        repos_url: `${api}/users/${owner}/repos`,
        events_url: `${api}/users/${owner}/events{/privacy}`,
        received_events_url: `${api}/users/${owner}/received_events`,
        type: 'Organization',
        site_admin: false,
      },
      name,
      description: (manifest.description as string | undefined) ?? null,
      external_url: manifest.url,
      created_at: now,
      updated_at: now,
      permissions: manifest.default_permissions ?? {},
      events: manifest.default_events ?? [],
    };
  }
}

/** What GitHub checks before it shows the "Create GitHub App" page. */
function manifestProblems(m: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const isUrl = (v: unknown) => typeof v === 'string' && /^https?:\/\/[^/]/.test(v);
  if (!isUrl(m.url)) problems.push(`manifest: url is required, got ${String(m.url)}`);
  const hook = m.hook_attributes as { url?: unknown } | undefined;
  if (hook && !isUrl(hook.url)) problems.push('manifest: hook_attributes.url is required');
  if (m.redirect_url !== undefined && !isUrl(m.redirect_url))
    problems.push('manifest: redirect_url must be a URL');
  const callbacks = m.callback_urls;
  if (callbacks !== undefined && (!Array.isArray(callbacks) || callbacks.length > 10))
    problems.push('manifest: callback_urls takes up to 10 URLs');
  const events = (m.default_events ?? []) as string[];
  for (const e of events.filter((e) => ['installation', 'installation_repositories'].includes(e)))
    problems.push(`manifest: Default events unsupported: ${e}`);
  return problems;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
