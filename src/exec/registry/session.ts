import { CancelledError } from '../errors.js';
import { isInsecureRegistry, registryBaseUrl } from '../image-ref.js';
import { parseChallenge, type Challenge } from './challenge.js';
import { RegistryError, refusedMessage, unreachable } from './errors.js';
import { realmVerdict } from './token-realm.js';
import type { Call, Credentials, RegistryClientOptions } from './types.js';

/**
 * Sends registry requests with the right Authorization: anonymous until a registry
 * challenges, then Basic or a Bearer token from its realm, cached per registry and
 * scope set. Network failures, timeouts and refusals become `RegistryError`s.
 */
export class RegistrySession {
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;
  private readonly transferTimeoutMs: number;
  private readonly dockerConfigFile: string;
  private readonly insecure: (registry: string) => boolean;
  private readonly lookup: NonNullable<RegistryClientOptions['credentials']>;
  private readonly tokenHosts: readonly string[];
  /** Per registry: the token service its credentials were kept from, and why. */
  private readonly withheld = new Map<string, { realm: string; why: string }>();
  private readonly creds = new Map<string, Promise<Credentials | undefined>>();
  private readonly challenges = new Map<string, Challenge>();
  private readonly tokens = new Map<string, { token: string; expires: number }>();

  constructor(opts: RegistryClientOptions = {}) {
    this.fetch = opts.fetch ?? globalThis.fetch;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.transferTimeoutMs = opts.transferTimeoutMs ?? 30 * 60_000;
    this.dockerConfigFile = opts.dockerConfigFile ?? '$DOCKER_CONFIG/config.json';
    this.insecure = opts.insecure ?? ((r) => isInsecureRegistry(r));
    this.lookup = opts.credentials ?? (() => undefined);
    this.tokenHosts = opts.tokenHosts ?? [];
  }

  /** One request with auth: anonymous or cached first; on 401, answer the challenge and retry once. */
  async send(req: Call): Promise<Response> {
    const base = this.base(req.repo.registry);
    const url = req.url.startsWith('/') ? base + req.url : req.url;
    // What a registry hands out (an upload location) may point elsewhere: its
    // credentials and tokens go to its own origin only.
    const ownOrigin = new URL(url).origin === new URL(base).origin;
    let auth = await this.authorization(req.repo.registry, req.scopes, req);
    for (let attempt = 0; ; attempt++) {
      const res = await this.guard(req, (signal) =>
        this.fetch(url, {
          method: req.method,
          headers: { ...req.headers, ...(auth && ownOrigin ? { Authorization: auth } : {}) },
          body: req.body,
          signal,
          ...(req.body instanceof ReadableStream ? { duplex: 'half' } : {}),
        } as RequestInit),
      );
      if (!ownOrigin && (res.status === 401 || res.status === 403)) {
        await res.body?.cancel();
        throw this.error(
          req,
          `${req.repo.registry} sent the request on to ${new URL(url).origin}, which asked for ` +
            `credentials (${res.status}); those of ${req.repo.registry} go to ${new URL(base).origin} only`,
          res.status,
        );
      }
      if (res.status === 401 && attempt === 0 && !(req.body instanceof ReadableStream)) {
        const challenge = parseChallenge(res.headers.get('www-authenticate'));
        await res.body?.cancel();
        if (challenge) {
          this.challenges.set(req.repo.registry, challenge.challenge);
          const scopes = [...new Set([...req.scopes, ...challenge.scopes])];
          this.tokens.delete(tokenKey(req.repo.registry, scopes));
          const next = await this.authorization(req.repo.registry, scopes, req);
          if (next && next !== auth) {
            auth = next;
            continue;
          }
        }
        throw await this.refused(req, 401);
      }
      if (req.ok.includes(res.status)) return res;
      if (res.status === 401 || res.status === 403) {
        await res.body?.cancel();
        throw await this.refused(req, res.status);
      }
      throw await this.failure(req, res);
    }
  }

  /** Where the registry's API lives, e.g. `http://127.0.0.1:5000`. */
  base(registry: string): string {
    return registryBaseUrl(registry, this.insecure(registry));
  }

  /** Runs `fn` under the request's timeout (and the caller's signal); network failures become RegistryErrors. */
  async guard<T>(req: Call, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ms = req.transfer ? this.transferTimeoutMs : this.timeoutMs;
    const timeout = AbortSignal.timeout(ms);
    const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout;
    try {
      return await fn(signal);
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      if (req.signal?.aborted) throw new CancelledError(String(req.signal.reason ?? 'cancelled'));
      if (timeout.aborted || (err as Error).name === 'TimeoutError')
        throw this.error(req, `${req.repo.registry} did not answer within ${ms / 1000} s`);
      const origin = req.url.startsWith('/')
        ? this.base(req.repo.registry)
        : new URL(req.url).origin;
      throw this.error(req, unreachable(req.repo.registry, origin, err));
    }
  }

  error(
    req: Pick<Call, 'method' | 'repo' | 'url'>,
    message: string,
    status?: number,
    code?: string,
  ): RegistryError {
    return new RegistryError(message, {
      registry: req.repo.registry,
      method: req.method,
      path: pathOf(req.url),
      status,
      code,
    });
  }

  /** The Authorization header for `scopes` on `registry`, from what its last challenge asked for. */
  private async authorization(
    registry: string,
    scopes: string[],
    req: Call,
  ): Promise<string | undefined> {
    const challenge = this.challenges.get(registry);
    if (!challenge) return undefined;
    const creds = await this.credentials(registry);
    let basic = creds
      ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`
      : undefined;
    if (challenge.scheme === 'basic') return basic;

    const key = tokenKey(registry, scopes);
    const cached = this.tokens.get(key);
    if (cached && cached.expires > Date.now()) return `Bearer ${cached.token}`;
    const url = new URL(challenge.realm);
    const verdict = realmVerdict(url, registry, this.base(registry), this.tokenHosts);
    if (basic && !verdict.send) {
      // Asked for anonymously instead: enough for what is public.
      basic = undefined;
      this.withheld.set(registry, { realm: url.origin + url.pathname, why: verdict.why });
    }
    if (challenge.service) url.searchParams.set('service', challenge.service);
    for (const scope of [...scopes].sort()) url.searchParams.append('scope', scope);
    const tokenReq: Call = { ...req, method: 'GET', url: url.href, ok: [200], body: undefined };
    const res = await this.guard(tokenReq, (signal) =>
      this.fetch(url, { headers: basic ? { Authorization: basic } : {}, signal }),
    );
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw await this.refused(req, res.status);
    }
    if (res.status !== 200) throw await this.failure(tokenReq, res);
    const json = (await this.guard(tokenReq, () => res.json())) as {
      token?: string;
      access_token?: string;
      expires_in?: number;
    };
    const token = json.token ?? json.access_token;
    if (!token) throw this.error(tokenReq, `the token service of ${registry} sent no token`);
    const seconds = Math.max(Number(json.expires_in) || 60, 30);
    this.tokens.set(key, { token, expires: Date.now() + (seconds - 15) * 1000 });
    return `Bearer ${token}`;
  }

  private credentials(registry: string): Promise<Credentials | undefined> {
    let found = this.creds.get(registry);
    if (!found) {
      found = Promise.resolve(this.lookup(registry));
      this.creds.set(registry, found);
    }
    return found;
  }

  private async refused(req: Call, status: number): Promise<RegistryError> {
    const creds = await this.credentials(req.repo.registry);
    const message = refusedMessage({
      registry: req.repo.registry,
      repository: req.repo.repository,
      action: req.action,
      status,
      credentials: creds,
      withheld: this.withheld.get(req.repo.registry),
      dockerConfigFile: this.dockerConfigFile,
    });
    return this.error(req, message, status);
  }

  private async failure(req: Call, res: Response): Promise<RegistryError> {
    const text = req.method === 'HEAD' ? '' : await res.text().catch(() => '');
    let code: string | undefined;
    let detail = text.slice(0, 300).trim();
    try {
      const first = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] })
        .errors?.[0];
      if (first) {
        code = first.code;
        detail = [first.code, first.message].filter(Boolean).join(': ');
      }
    } catch {
      // not JSON: keep the text
    }
    const message = `${req.repo.registry} answered ${res.status} to ${req.method} ${pathOf(req.url)}${detail ? `: ${detail}` : ''}`;
    return this.error(req, message, res.status, code);
  }
}

function pathOf(url: string): string {
  return url.startsWith('/') ? url.split('?')[0] : new URL(url).pathname;
}

function tokenKey(registry: string, scopes: string[]): string {
  return `${registry} ${[...scopes].sort().join(' ')}`;
}
