import { describe, expect, it } from 'vitest';
import { buildManifest, newAppUrl, type AppYml } from '../../src/config/app-manifest.js';

const app: AppYml = {
  name: 'Deployer',
  url: 'https://deployer.example.org/',
  hook_attributes: { url: 'https://deployer.example.org/api/github/webhooks', active: true },
  default_events: ['push'],
  default_permissions: { checks: 'write' },
};
const urls = {
  publicUrl: 'https://deploy.acme.example/',
  webhookPath: '/hooks',
  callbackPath: '/login/callback',
  redirectUrl: 'http://127.0.0.1:3000/setup/done',
};

describe('the App manifest', () => {
  it("points every address at the receiver's public URL, whatever app.yml says", () => {
    expect(buildManifest(app, urls)).toEqual({
      name: 'Deployer',
      url: 'https://deploy.acme.example/',
      hook_attributes: { url: 'https://deploy.acme.example/hooks', active: true },
      redirect_url: 'http://127.0.0.1:3000/setup/done',
      callback_urls: ['https://deploy.acme.example/login/callback'],
      public: false,
      default_events: ['push'],
      default_permissions: { checks: 'write' },
    });
  });

  it("keeps app.yml's choices of visibility and webhook activity, and takes another name", () => {
    const m = buildManifest(
      { ...app, public: true, hook_attributes: { active: false } },
      urls,
      'Deployer (acme)',
    );
    expect(m).toMatchObject({ name: 'Deployer (acme)', public: true });
    expect(m.hook_attributes).toEqual({ url: 'https://deploy.acme.example/hooks', active: false });
  });

  it('is posted to github.com, or to the GitHub Enterprise host, for a user or an organization', () => {
    expect(newAppUrl({}, 's1')).toBe('https://github.com/settings/apps/new?state=s1');
    expect(newAppUrl({ gheHost: 'ghe.acme' }, 's1', 'acme')).toBe(
      'https://ghe.acme/organizations/acme/settings/apps/new?state=s1',
    );
    expect(newAppUrl({ gheHost: 'ghe.acme:8080', gheProtocol: 'http' }, 's1')).toBe(
      'http://ghe.acme:8080/settings/apps/new?state=s1',
    );
  });
});
