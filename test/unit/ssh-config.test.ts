import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { parseSshDestination } from '../../src/exec/ssh/destination.js';

const dir = mkdtempSync(join(tmpdir(), 'deployer-ssh-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
/** An SSH config file with `lines`, and where to find it. */
function config(...lines: string[]) {
  const configPath = join(dir, `config-${++n}`);
  writeFileSync(configPath, `${lines.join('\n')}\n`);
  return { configPath, home: '/home/deployer' };
}

describe('parseSshDestination with an SSH config', () => {
  const ssh = config(
    'Host web? web-*',
    '  HostName %h.internal.example.org',
    '  User deploy',
    '  Port 2200',
    '  IdentityFile ~/.ssh/web_%h',
    '  IdentityFile %d/keys/shared',
    'Host db',
    '  hostname 10.0.0.5',
    '  identityfile none',
    'Host db6',
    '  HostName fd00::5',
    'Host *',
    '  User ops',
    '  Port 22',
    '  IdentityFile /etc/deployer/fallback',
  );

  it('applies the first value of each option, from the matching sections in order', () => {
    expect(parseSshDestination('ssh://web-1', ssh)).toEqual({
      username: 'deploy',
      host: 'web-1.internal.example.org',
      port: 2200,
      identityFiles: [
        '/home/deployer/.ssh/web_web-1.internal.example.org',
        '/home/deployer/keys/shared',
        '/etc/deployer/fallback',
      ],
    });
    // Option names in any case; `IdentityFile none` lists nothing.
    expect(parseSshDestination('db', ssh)).toEqual({
      username: 'ops',
      host: '10.0.0.5',
      port: 22,
      identityFiles: ['/etc/deployer/fallback'],
    });
    expect(parseSshDestination('db6', ssh).host).toBe('fd00::5');
  });

  it('lets a user or port in the destination win, as ssh -l and -p do', () => {
    expect(parseSshDestination('ssh://root@web-2:2222', ssh)).toMatchObject({
      username: 'root',
      host: 'web-2.internal.example.org',
      port: 2222,
    });
  });

  it('leaves a name no section matches alone, but for the catch-all', () => {
    expect(parseSshDestination('other.example.org', ssh)).toEqual({
      username: 'ops',
      host: 'other.example.org',
      port: 22,
      identityFiles: ['/etc/deployer/fallback'],
    });
    expect(parseSshDestination('other.example.org')).toEqual({
      username: 'root',
      host: 'other.example.org',
      port: 22,
    });
  });

  it('never runs Match exec', () => {
    const marker = join(dir, 'ran');
    const evil = config(`Match exec "touch ${marker}"`, '  HostName 10.9.9.9');
    expect(parseSshDestination('anything', evil).host).toBe('anything');
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses hosts it would reach another way than ssh, and bad values, naming the file', () => {
    const jump = config('Host behind', '  ProxyJump bastion', 'Host direct', '  ProxyJump none');
    expect(() => parseSshDestination('behind', jump)).toThrow(
      new ConfigError(
        `${jump.configPath}: host behind is reached through ProxyJump, which the deployer does not support`,
      ),
    );
    expect(parseSshDestination('direct', jump).host).toBe('direct');
    const command = config('Host *', '  ProxyCommand nc %h %p');
    expect(() => parseSshDestination('x', command)).toThrow(/through ProxyCommand/);

    const bad = config(
      'Host port',
      '  Port 70000',
      'Host name',
      '  HostName -oProxyCommand=x',
      'Host user',
      '  User -u',
    );
    expect(() => parseSshDestination('port', bad)).toThrow(
      new ConfigError(`${bad.configPath}: host port: bad Port "70000"`),
    );
    expect(() => parseSshDestination('name', bad)).toThrow(/bad HostName "-oProxyCommand=x"/);
    expect(() => parseSshDestination('user', bad)).toThrow(/bad User "-u"/);
    expect(() => parseSshDestination('x', { configPath: join(dir, 'absent') })).toThrow(
      /cannot read the SSH config/,
    );
  });
});
