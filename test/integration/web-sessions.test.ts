import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { readLoginSettings } from '../../src/web/github-login.js';
import { OAUTH_CLIENT, SESSION_SECRET } from '../helpers/github-stand-in.js';
import { startWebStand, type WebStand } from '../helpers/web-stand.js';
import { WebClient } from '../helpers/web-client.js';

/** cookie-session's signature (keygrip: HMAC-SHA1, URL-safe base64 without padding). */
const signCookie = (name: string, value: string) =>
  createHmac('sha1', SESSION_SECRET)
    .update(`${name}=${value}`)
    .digest('base64')
    .replace(/\//g, '_')
    .replace(/\+/g, '-')
    .replace(/=+$/, '');

const signedInAs = async (client: WebClient): Promise<string | undefined> => {
  const res = await client.get('/');
  if (res.status !== 200) return undefined;
  return /<div class="account">\s*<span>([^<( ]+)/.exec(await res.text())?.[1];
};

describe('web sessions: server-side expiry, sign-out that ends copies, admins by GitHub id', () => {
  let w: WebStand;

  beforeAll(async () => {
    // Public pages, so that a page shows who is signed in whatever the session's state.
    w = await startWebStand({ repos: ['acme/site'], env: { DEPLOYER_UI_ACCESS: 'public' } });
  });
  afterAll(async () => {
    await w?.close();
  });

  it('refuses to start sign-in without DEPLOYER_SESSION_SECRET, naming it', () => {
    const env = { GITHUB_CLIENT_ID: OAUTH_CLIENT.id, GITHUB_CLIENT_SECRET: OAUTH_CLIENT.secret };
    expect(() => readLoginSettings(env)).toThrow(ConfigError);
    expect(() => readLoginSettings(env)).toThrow(/^DEPLOYER_SESSION_SECRET: required/);
    expect(() => readLoginSettings({ ...env, DEPLOYER_SESSION_SECRET: 'short' })).toThrow(
      /DEPLOYER_SESSION_SECRET/,
    );
    expect(readLoginSettings({ ...env, DEPLOYER_SESSION_SECRET: SESSION_SECRET })?.access).toBe(
      'signed-in',
    );
    expect(() => readLoginSettings({ DEPLOYER_UI_ACCESS: 'signed-in' })).toThrow(
      /DEPLOYER_UI_ACCESS: "signed-in" needs GitHub sign-in/,
    );
    expect(() =>
      readLoginSettings({
        ...env,
        DEPLOYER_SESSION_SECRET: SESSION_SECRET,
        DEPLOYER_UI_ACCESS: 'x',
      }),
    ).toThrow(/DEPLOYER_UI_ACCESS: expected one of public, signed-in, admins/);
  });

  it('signing out ends the session everywhere, a copied cookie included', async () => {
    const alice = new WebClient(w.url);
    await alice.signIn(w.github, 'alice');
    const copied = alice.copy();
    expect(await signedInAs(copied)).toBe('alice');
    const out = await alice.post('/logout', { _csrf: await alice.csrf('/') });
    expect(out.status).toBe(303);
    expect(await signedInAs(alice)).toBeUndefined();
    expect(await signedInAs(copied)).toBeUndefined();
    // Signing in again works, and the new session is unaffected by the old sign-out.
    await alice.signIn(w.github, 'alice');
    expect(await signedInAs(alice)).toBe('alice');
  });

  it('a session ends 12 h after sign-in, whatever its cookie says', async () => {
    const bob = new WebClient(w.url);
    await bob.signIn(w.github, 'bob');
    expect(await signedInAs(bob)).toBe('bob');
    const value = bob.getCookie('deployer_session')!;
    const data = JSON.parse(Buffer.from(value, 'base64').toString()) as { iat: number };
    // The same session, re-signed as someone holding the secret would, issued 13 h ago.
    const old = Buffer.from(JSON.stringify({ ...data, iat: Date.now() - 13 * 3600_000 })).toString(
      'base64',
    );
    const stale = new WebClient(w.url);
    stale.setCookie('deployer_session', old);
    stale.setCookie('deployer_session.sig', signCookie('deployer_session', old));
    expect(await signedInAs(stale)).toBeUndefined();
    // The re-signing itself is right: the untouched session still counts.
    const same = new WebClient(w.url);
    same.setCookie('deployer_session', value);
    same.setCookie('deployer_session.sig', signCookie('deployer_session', value));
    expect(await signedInAs(same)).toBe('bob');
  });

  it('an admin login taken over by another GitHub account is refused', async () => {
    const alice = new WebClient(w.url);
    await alice.signIn(w.github, 'alice');
    expect(await (await alice.get('/')).text()).toContain('alice (admin)');
    // alice renamed her account; someone else registered "alice".
    w.github.userIds.set('alice', 999_999);
    const impostor = new WebClient(w.url);
    await expect(impostor.signIn(w.github, 'alice')).rejects.toThrow(/callback answered 403/);
    expect(await signedInAs(impostor)).toBeUndefined();
    const page = await (await impostor.get('/')).text();
    expect(page).not.toContain('(admin)');
  });
});
