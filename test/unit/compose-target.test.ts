import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Docker } from '../../src/exec/docker/client.js';
import { run } from '../../src/exec/run.js';
import {
  composeUpArgv,
  deployCompose,
  deployStack,
  loginArgv,
  stackDeployArgv,
  withImageHash,
} from '../../src/targets/compose.js';
import { DeployError, type ServiceContext } from '../../src/targets/target.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('withImageHash', () => {
  it('replaces $IMAGE_HASH and ${IMAGE_HASH}, every occurrence', () => {
    const file = [
      'services:',
      '  web:',
      '    image: registry.example.com/acme/web@$IMAGE_HASH',
      '  worker:',
      '    image: "registry.example.com/acme/web@${IMAGE_HASH}"',
      '    labels: [hash=$IMAGE_HASH.]',
    ].join('\n');
    expect(withImageHash(file, DIGEST)).toBe(
      [
        'services:',
        '  web:',
        `    image: registry.example.com/acme/web@${DIGEST}`,
        '  worker:',
        `    image: "registry.example.com/acme/web@${DIGEST}"`,
        `    labels: [hash=${DIGEST}.]`,
      ].join('\n'),
    );
  });

  it('leaves variables that only start with IMAGE_HASH alone', () => {
    const file = 'a: $IMAGE_HASHES\nb: ${IMAGE_HASHES}\nc: $IMAGE_HASH_OLD\nd: $IMAGE_HASH1';
    expect(withImageHash(file, DIGEST)).toBe(file);
  });

  it('leaves other variables and a file without the variable unchanged', () => {
    const file = 'image: web:$TAG\nenv: ${HOME}\n';
    expect(withImageHash(file, DIGEST)).toBe(file);
    expect(withImageHash('', DIGEST)).toBe('');
  });
});

describe('argv builders', () => {
  it('stackDeployArgv: docker stack deploy from stdin, with registry auth', () => {
    expect(stackDeployArgv('web')).toEqual([
      'docker',
      'stack',
      'deploy',
      '--with-registry-auth',
      '--compose-file',
      '-',
      'web',
    ]);
  });

  it('composeUpArgv: one sh snippet choosing the compose, then its arguments', () => {
    expect(composeUpArgv('web')).toEqual([
      'sh',
      '-c',
      'if docker compose version >/dev/null 2>&1; then exec docker compose "$@"; else exec docker-compose "$@"; fi',
      'compose',
      '--project-name',
      'web',
      '--file',
      '-',
      'up',
      '--detach',
      '--remove-orphans',
    ]);
  });

  it('loginArgv: password on stdin, never in argv', () => {
    expect(loginArgv('registry.example.com:5000', 'deployer')).toEqual([
      'docker',
      'login',
      '--username',
      'deployer',
      '--password-stdin',
      'registry.example.com:5000',
    ]);
  });
});

describe('composeUpArgv, run for real with sh and a fake docker on PATH', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  // Each fake prints its name and arguments NUL-separated, then what it got on stdin.
  const echoArgs = (name: string) =>
    `printf '%s\\0' ${name} "$@"; printf '<stdin>'; cat; printf '</stdin>'\n`;

  /** A directory with fake `docker` and `docker-compose`; `v2` says whether `docker compose version` works. */
  function fakeBin(v2: boolean): string {
    const dir = mkdtempSync(join(tmpdir(), 'deployer-fake-docker-'));
    dirs.push(dir);
    const probe = v2
      ? 'echo "Docker Compose version v2.29.0"; exit 0'
      : 'echo "docker: \'compose\' is not a docker command." >&2; exit 1';
    const script = (name: string, body: string) => {
      writeFileSync(join(dir, name), `#!/bin/sh\n${body}`);
      chmodSync(join(dir, name), 0o755);
    };
    script(
      'docker',
      `if [ "$1" = compose ] && [ "$2" = version ]; then ${probe}; fi\n${echoArgs('docker')}`,
    );
    script('docker-compose', echoArgs('docker-compose'));
    return dir;
  }

  const runWith = (dir: string, argv: string[], input: string) =>
    run(argv, { cwd: dir, input, env: { PATH: `${dir}:${process.env.PATH ?? '/usr/bin:/bin'}` } });

  /** The fake's output split back into argv and stdin. */
  function parse(out: string): { argv: string[]; stdin: string } {
    const at = out.indexOf('<stdin>');
    const argv = out.slice(0, at).split('\0');
    expect(argv.pop()).toBe('');
    expect(out.endsWith('</stdin>')).toBe(true);
    return { argv, stdin: out.slice(at + '<stdin>'.length, -'</stdin>'.length) };
  }

  const composeArgs = (name: string) => [
    '--project-name',
    name,
    '--file',
    '-',
    'up',
    '--detach',
    '--remove-orphans',
  ];

  it('runs `docker compose` when `docker compose version` works', async () => {
    const out = await runWith(fakeBin(true), composeUpArgv('web'), 'services: {}\n');
    expect(parse(out)).toEqual({
      argv: ['docker', 'compose', ...composeArgs('web')],
      stdin: 'services: {}\n',
    });
  });

  it('runs `docker-compose` when `docker compose version` fails', async () => {
    const out = await runWith(fakeBin(false), composeUpArgv('web'), 'services: {}\n');
    expect(parse(out)).toEqual({
      argv: ['docker-compose', ...composeArgs('web')],
      stdin: 'services: {}\n',
    });
  });

  it('passes every argument through intact: spaces, quotes, globs, $ and `…`', async () => {
    const name = `my "app" it's  two`;
    const extra = ['a b', "it's", '"quoted"', '$HOME', '$(touch pwned)', '`id`', '*', '', '-'];
    for (const v2 of [true, false]) {
      const dir = fakeBin(v2);
      const out = await runWith(dir, [...composeUpArgv(name), ...extra], 'x: "$IMAGE_HASH"\n');
      expect(parse(out)).toEqual({
        argv: [
          ...(v2 ? ['docker', 'compose'] : ['docker-compose']),
          ...composeArgs(name),
          ...extra,
        ],
        stdin: 'x: "$IMAGE_HASH"\n',
      });
      // Nothing was evaluated: `$(touch pwned)` would have left a file in the cwd.
      const files = await run(['ls', '-A', dir]);
      expect(files.split('\n').filter(Boolean).sort()).toEqual(['docker', 'docker-compose']);
    }
  });
});

describe('stack and compose targets', () => {
  type Call = { argv: string[]; stdin?: string };

  function context(over: Partial<ServiceContext> = {}) {
    const calls: Call[] = [];
    const lines: string[] = [];
    const ctx: ServiceContext = {
      service: { name: 'web', context: 'default', kind: 'compose', compose: 'docker-compose.yml' },
      image: `registry.example.com/acme/web:live@${DIGEST}`,
      digest: DIGEST,
      docker: {} as Docker,
      shell: async (argv, stdin) => {
        calls.push({ argv, stdin });
        return 'line one\n\nline two\n';
      },
      composeFile: 'services:\n  web:\n    image: registry.example.com/acme/web@${IMAGE_HASH}\n',
      log: (line) => lines.push(line),
      convergeTimeoutMs: 1000,
      ...over,
    };
    return { ctx, calls, lines };
  }
  const deployed = `services:\n  web:\n    image: registry.example.com/acme/web@${DIGEST}\n`;

  it('compose: logs in with the password on stdin, then feeds the substituted file', async () => {
    const { ctx, calls, lines } = context({
      auth: { username: 'deployer', password: 's3cret', serveraddress: 'registry.example.com' },
    });
    expect(await deployCompose(ctx)).toEqual({ changed: true });
    expect(calls).toEqual([
      { argv: loginArgv('registry.example.com', 'deployer'), stdin: 's3cret' },
      { argv: composeUpArgv('web'), stdin: deployed },
    ]);
    expect(lines.join('\n')).not.toContain('s3cret');
    expect(lines.slice(-2)).toEqual(['line one', 'line two']);
  });

  it('stack: no login without credentials, docker stack deploy with the file', async () => {
    const { ctx, calls } = context();
    expect(await deployStack(ctx)).toEqual({ changed: true });
    expect(calls).toEqual([{ argv: stackDeployArgv('web'), stdin: deployed }]);
  });

  it('fails with a DeployError, running nothing, when there is no compose file', async () => {
    const { ctx, calls } = context({ composeFile: undefined });
    await expect(deployCompose(ctx)).rejects.toThrow(new DeployError('web: no compose file'));
    await expect(deployCompose(ctx)).rejects.toBeInstanceOf(DeployError);
    expect(calls).toEqual([]);
  });
});
