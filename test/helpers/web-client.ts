import type { GitHubStandIn } from './github-stand-in.js';

/** A browser's part of the web UI over plain HTTP: a cookie jar, forms, redirects. */
export class WebClient {
  private readonly jar = new Map<string, string>();

  constructor(readonly url: string) {}

  private keep(res: Response): Response {
    for (const cookie of res.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at);
      const value = pair.slice(at + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(cookie)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return res;
  }

  /** A cookie of this client, as the server set it. */
  getCookie(name: string): string | undefined {
    return this.jar.get(name);
  }

  setCookie(name: string, value: string): void {
    this.jar.set(name, value);
  }

  /** Another browser with this one's cookies (what someone who copied them has). */
  copy(): WebClient {
    const other = new WebClient(this.url);
    for (const [k, v] of this.jar) other.setCookie(k, v);
    return other;
  }

  private cookie(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async get(path: string): Promise<Response> {
    const res = await fetch(new URL(path, this.url), {
      headers: { cookie: this.cookie() },
      redirect: 'manual',
    });
    return this.keep(res);
  }

  async post(path: string, fields: Record<string, string>): Promise<Response> {
    const res = await fetch(new URL(path, this.url), {
      method: 'POST',
      headers: { cookie: this.cookie(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
      redirect: 'manual',
    });
    return this.keep(res);
  }

  /** Signs in as `login` through the stand-in's web flow; returns where it landed. */
  async signIn(github: GitHubStandIn, login: string, next = '/'): Promise<string> {
    github.oauthLogin = login;
    const start = await this.get(`/login?next=${encodeURIComponent(next)}`);
    const authorize = start.headers.get('location');
    if (start.status !== 302 || !authorize) throw new Error(`/login answered ${start.status}`);
    const back = (await fetch(authorize, { redirect: 'manual' })).headers.get('location');
    if (!back) throw new Error('the stand-in did not redirect back');
    const done = await this.get(back);
    if (done.status !== 302)
      throw new Error(`callback answered ${done.status}: ${await done.text()}`);
    return done.headers.get('location') ?? '';
  }

  /** The CSRF token of the forms on a page. */
  async csrf(path: string): Promise<string> {
    const html = await (await this.get(path)).text();
    const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
    if (!token) throw new Error(`no form with a CSRF token on ${path}`);
    return token;
  }
}
