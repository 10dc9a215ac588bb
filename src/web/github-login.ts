import { exchangeWebFlowCode, getWebFlowAuthorizationUrl } from '@octokit/oauth-methods';
import { request } from '@octokit/request';
import { ConfigError } from '../config/load.js';
import { githubApiUrl, readUiAccess, type UiAccess } from '../config/env.js';

/** The App's OAuth credentials, where GitHub (or GitHub Enterprise) is, and who sees what. */
export interface LoginSettings {
  clientId: string;
  clientSecret: string;
  apiUrl: string;
  /** Signs session cookies; several receivers must share it. */
  sessionSecret: string;
  access: UiAccess;
}

/** GitHub no longer accepts the user's token (expired or revoked): they must sign in again. */
export class TokenRefusedError extends Error {
  constructor() {
    super("GitHub refused the user's token");
    this.name = 'TokenRefusedError';
  }
}

/** Who came back from GitHub's web flow, with the token that acts as them. */
export interface GitHubUser {
  login: string;
  id: number;
  token: string;
}

/**
 * Sign-in is on when the App's client id and secret are given (Probot's
 * GITHUB_CLIENT_ID / GITHUB_CLIENT_SECRET); without them the web UI is read-only
 * and public. With them, DEPLOYER_SESSION_SECRET is required.
 */
export function readLoginSettings(env: NodeJS.ProcessEnv = process.env): LoginSettings | undefined {
  const clientId = env.GITHUB_CLIENT_ID;
  const clientSecret = env.GITHUB_CLIENT_SECRET;
  if (!clientId || !clientSecret) {
    readUiAccess(env, false); // refuses a non-public setting that nothing could enforce
    return undefined;
  }
  const sessionSecret = env.DEPLOYER_SESSION_SECRET ?? '';
  if (sessionSecret.length < 32)
    throw new ConfigError(
      'DEPLOYER_SESSION_SECRET: required when GitHub sign-in is on (GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are set): ' +
        'at least 32 random characters, the same on every receiver (e.g. the output of `openssl rand -hex 32`)',
    );
  return {
    clientId,
    clientSecret,
    apiUrl: githubApiUrl(env),
    sessionSecret,
    access: readUiAccess(env, true),
  };
}

/** GitHub's web flow: where to send the browser, who came back, and what they may read. */
export class GitHubLogin {
  private readonly request;

  constructor(private readonly settings: LoginSettings) {
    // oauth-methods finds the web host from the API's (github.com, or the GHE host).
    this.request = request.defaults({ baseUrl: settings.apiUrl });
  }

  authorizeUrl(redirectUrl: string, state: string): string {
    return getWebFlowAuthorizationUrl({
      clientType: 'github-app',
      clientId: this.settings.clientId,
      redirectUrl,
      state,
      request: this.request,
    }).url;
  }

  /** The user GitHub sent back with `code`. */
  async user(code: string, redirectUrl: string): Promise<GitHubUser> {
    const { authentication } = await exchangeWebFlowCode({
      clientType: 'github-app',
      clientId: this.settings.clientId,
      clientSecret: this.settings.clientSecret,
      code,
      redirectUrl,
      request: this.request,
    });
    const token = authentication.token;
    const { data } = await this.request('GET /user', {
      headers: { authorization: `token ${token}` },
    });
    return { login: data.login, id: Number(data.id), token };
  }

  /**
   * Whether the user whose token this is can read `owner/name` on GitHub: GitHub
   * answers 404 (or 403) for a repository they cannot see. A refused token
   * throws TokenRefusedError; other failures throw as they are.
   */
  async canRead(token: string, fullName: string): Promise<boolean> {
    const [owner, repo] = fullName.split('/');
    try {
      await this.request('GET /repos/{owner}/{repo}', {
        owner,
        repo,
        headers: { authorization: `token ${token}` },
      });
      return true;
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 401) throw new TokenRefusedError();
      if (status === 404 || status === 403) return false;
      throw err;
    }
  }
}
