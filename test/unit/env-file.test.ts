import { parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
import { mergeEnvText } from '../../src/config/env-file.js';

const HEADING = 'written by setup';

describe('merging settings into a .env file', () => {
  it('writes a new file with the heading and the values', () => {
    expect(mergeEnvText('', { APP_ID: '12', WEBHOOK_SECRET: 'abc' }, HEADING)).toBe(
      '# written by setup\nAPP_ID=12\nWEBHOOK_SECRET=abc\n',
    );
  });

  it('fills an empty assignment in place and sets a commented template below its line', () => {
    const text = '# The id\nAPP_ID=\n# Sign-in\n# GITHUB_CLIENT_ID=\nREDIS_URL=redis://r:6379\n';
    expect(mergeEnvText(text, { APP_ID: '7', GITHUB_CLIENT_ID: 'Iv1.x' }, HEADING)).toBe(
      '# The id\nAPP_ID=7\n# Sign-in\n# GITHUB_CLIENT_ID=\nGITHUB_CLIENT_ID=Iv1.x\nREDIS_URL=redis://r:6379\n',
    );
  });

  it('keeps an old value commented out above the new one, duplicates and `export` included', () => {
    const text = 'APP_ID=1\nexport APP_ID=2\nOTHER=x';
    expect(mergeEnvText(text, { APP_ID: '3' }, HEADING)).toBe(
      '# APP_ID=1\nAPP_ID=3\n# export APP_ID=2\nOTHER=x\n',
    );
  });

  it('leaves a key that already has the value as it is', () => {
    expect(mergeEnvText('GHE_HOST=ghe.acme\n', { GHE_HOST: 'ghe.acme' }, HEADING)).toBe(
      'GHE_HOST=ghe.acme\n',
    );
  });

  it('comments out every line of a multi-line quoted key when asked to drop it', () => {
    const text = 'A=1\nPRIVATE_KEY="-----BEGIN KEY-----\nabc\\"def\n-----END KEY-----"\nB=2\n';
    const merged = mergeEnvText(text, { PRIVATE_KEY: null }, HEADING);
    expect(merged).toBe(
      'A=1\n# PRIVATE_KEY="-----BEGIN KEY-----\n# abc\\"def\n# -----END KEY-----"\nB=2\n',
    );
    expect(parseEnv(merged)).toEqual({ A: '1', B: '2' });
  });

  it('quotes a value with spaces so that sh and Node read it back whole', () => {
    const merged = mergeEnvText('', { PRIVATE_KEY_PATH: '/srv/my keys/app.pem' }, HEADING);
    expect(merged).toContain("PRIVATE_KEY_PATH='/srv/my keys/app.pem'\n");
    expect(parseEnv(merged).PRIVATE_KEY_PATH).toBe('/srv/my keys/app.pem');
  });

  it('refuses a value it cannot quote rather than write a broken file', () => {
    expect(() => mergeEnvText('', { X: "it's" }, HEADING)).toThrow(/X: cannot write/);
  });
});
