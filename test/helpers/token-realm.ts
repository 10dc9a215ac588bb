import { createSign, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/exec/run.js';
import { freePort } from './registry-server.js';

export interface TokenRequest {
  /** The Authorization header it came with, if any. */
  authorization?: string;
  scopes: string[];
}

/**
 * A token service for a docker-registry configured with `auth: token`, standing in
 * for an auth service such as Docker Hub's: it grants what was asked to the one
 * account it knows (Basic), pull only to anyone else, and signs the token with a key
 * whose certificate is the registry's `rootcertbundle`. It serves plain http or, with
 * the same certificate, https, on the loopback address it is given (127.0.0.2 is
 * "another host" than the registries on 127.0.0.1), and records every request.
 */
export class TokenRealm {
  readonly requests: TokenRequest[] = [];
  readonly service = 'deployer-test-registry';
  readonly issuer = 'deployer-test-realm';
  private readonly dir = mkdtempSync(join(tmpdir(), 'deployer-token-realm-'));
  readonly certFile = join(this.dir, 'realm.crt');
  private readonly keyFile = join(this.dir, 'realm.key');
  private server?: Server;
  /** e.g. `http://127.0.0.1:34567/token`. */
  realm = '';

  constructor(
    private readonly opts: {
      host: string;
      https: boolean;
      account: { user: string; password: string };
    },
  ) {}

  /** The certificate (PEM) a client must trust to reach an https realm. */
  get ca(): string {
    return readFileSync(this.certFile, 'utf8');
  }

  async start(): Promise<this> {
    // prettier-ignore
    await run([
      'openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
      '-subj', '/CN=deployer-test-realm', '-addext', `subjectAltName=IP:${this.opts.host}`,
      '-keyout', this.keyFile, '-out', this.certFile,
    ]);
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    this.server = this.opts.https
      ? createHttpsServer({ key: readFileSync(this.keyFile), cert: this.ca }, handler)
      : createHttpServer(handler);
    const port = await freePort(this.opts.host);
    await new Promise<void>((r) => this.server!.listen(port, this.opts.host, r));
    this.realm = `${this.opts.https ? 'https' : 'http'}://${this.opts.host}:${port}/token`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Requests that came with credentials. */
  get withCredentials(): TokenRequest[] {
    return this.requests.filter((r) => r.authorization);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://realm');
    const scopes = url.searchParams.getAll('scope');
    const authorization = req.headers.authorization;
    this.requests.push({ authorization, scopes });
    const { user, password } = this.opts.account;
    const known = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    if (authorization && authorization !== known) {
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end('{"details":"bad credentials"}');
      return;
    }
    const access = scopes.map((scope) => {
      const [type, name, actions] = scope.split(':');
      const asked = actions.split(',');
      return { type, name, actions: authorization ? asked : asked.filter((a) => a === 'pull') };
    });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({ token: this.sign(authorization ? user : '', access), expires_in: 300 }),
    );
  }

  /** A JWT as distribution's token auth verifies it: RS256, the certificate in `x5c`. */
  private sign(subject: string, access: { type: string; name: string; actions: string[] }[]) {
    const der = this.ca.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
    const now = Math.floor(Date.now() / 1000);
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const head = part({ typ: 'JWT', alg: 'RS256', x5c: [der] });
    const claims = part({
      iss: this.issuer,
      sub: subject,
      aud: this.service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access,
    });
    const signature = createSign('RSA-SHA256')
      .update(`${head}.${claims}`)
      .sign(readFileSync(this.keyFile))
      .toString('base64url');
    return `${head}.${claims}.${signature}`;
  }
}

/**
 * `fetch` that trusts `ca` for https (the realm's self-signed certificate), through
 * node:https; plain http goes to the global fetch. Enough for token requests (GET, no body).
 */
export function fetchTrusting(ca: string): typeof fetch {
  return ((input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.protocol !== 'https:') return globalThis.fetch(input, init);
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    return new Promise<Response>((resolve, reject) => {
      const req = httpsRequest(
        url,
        { method: init?.method ?? 'GET', headers, ca, signal: init?.signal ?? undefined },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const out = new Headers();
            for (const [k, v] of Object.entries(res.headers))
              if (typeof v === 'string') out.set(k, v);
            resolve(new Response(Buffer.concat(chunks), { status: res.statusCode, headers: out }));
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  }) as typeof fetch;
}
