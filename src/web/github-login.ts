import { createHmac } from 'node:crypto';
import { exchangeWebFlowCode, getWebFlowAuthorizationUrl } from '@octokit/oauth-methods';
import { request } from '@octokit/request';
import { githubApiUrl } from '../config/env.js';

/** The App's OAuth credentials and where GitHub (or GitHub Enterprise) is. */
export interface LoginSettings {
  clientId: string;
  clientSecret: string;
  apiUrl: string;
  /** Signs session cookies; several receivers must share it. */
  sessionSecret: string;
}

/**
 * Sign-in is on when the App's client id and secret are given (Probot's
 * GITHUB_CLIENT_ID / GITHUB_CLIENT_SECRET); without them the web UI is read-only.
 */
export function readLoginSettings(env: NodeJS.ProcessEnv = process.env): LoginSettings | undefined {
  const clientId = env.GITHUB_CLIENT_ID;
  const clientSecret = env.GITHUB_CLIENT_SECRET;
  if (!clientId || !clientSecret) return undefined;
  return {
    clientId,
    clientSecret,
    apiUrl: githubApiUrl(env),
    // Derived from the client secret unless given, so every receiver signs alike.
    sessionSecret:
      env.DEPLOYER_SESSION_SECRET ||
      createHmac('sha256', clientSecret).update('deployer web sessions').digest('hex'),
  };
}

/** GitHub's web flow: where to send the browser, and who came back. */
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

  /** The login of the user GitHub sent back with `code`. */
  async login(code: string, redirectUrl: string): Promise<string> {
    const { authentication } = await exchangeWebFlowCode({
      clientType: 'github-app',
      clientId: this.settings.clientId,
      clientSecret: this.settings.clientSecret,
      code,
      redirectUrl,
      request: this.request,
    });
    const { data } = await this.request('GET /user', {
      headers: { authorization: `token ${authentication.token}` },
    });
    return data.login;
  }
}
