import { describe, expect, it } from 'vitest';
import { BuildError } from '../../src/exec/errors.js';
import {
  checkUntrustedDockerfile,
  remoteAdds,
  requestedFrontends,
  untrustedBuildOptions,
} from '../../src/exec/untrusted-build.js';

describe('requestedFrontends', () => {
  it('finds # syntax= and // syntax= directives, in any case and spacing', () => {
    expect(requestedFrontends('# syntax=docker/dockerfile:1\nFROM scratch\n')).toEqual([
      'docker/dockerfile:1',
    ]);
    expect(requestedFrontends('#SYNTAX = evil/fe \nFROM scratch\n')).toEqual(['evil/fe']);
    expect(requestedFrontends('# syntax=evil/fe\rFROM scratch\n')).toEqual([
      'evil/fe\rFROM scratch',
    ]);
    expect(requestedFrontends('  //  syntax=evil/fe\r\nFROM scratch\r\n')).toEqual(['evil/fe']);
    expect(requestedFrontends('# escape=`\n# syntax=evil/fe\nFROM scratch\n')).toEqual(['evil/fe']);
  });

  it('finds a syntax key of a JSON document', () => {
    expect(requestedFrontends('{"Syntax": "evil/fe"}')).toEqual(['evil/fe']);
  });

  it('finds none in a plain Dockerfile', () => {
    expect(requestedFrontends('FROM scratch\n# a comment\nRUN echo syntax=x\n')).toEqual([]);
  });
});

describe('checkUntrustedDockerfile: frontends', () => {
  it('lets docker/dockerfile through, with any tag or digest', () => {
    for (const f of [
      'docker/dockerfile:1',
      'docker/dockerfile:1.7-labs',
      'docker.io/docker/dockerfile',
      `docker/dockerfile:1@sha256:${'a'.repeat(64)}`,
    ])
      expect(() =>
        checkUntrustedDockerfile('Dockerfile', `# syntax=${f}\nFROM scratch\n`),
      ).not.toThrow();
    expect(() => checkUntrustedDockerfile('Dockerfile', 'FROM scratch\n')).not.toThrow();
  });

  it('refuses any other frontend, naming the file and the frontend', () => {
    for (const f of [
      'evil/dockerfile:1',
      'docker/dockerfile-upstream:master',
      'ghcr.io/docker/dockerfile:1',
      'docker/dockerfile:1 extra',
      'localhost:5000/docker/dockerfile',
    ]) {
      let err: unknown;
      try {
        checkUntrustedDockerfile('build/Dockerfile', `# syntax=${f}\nFROM scratch\n`);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BuildError);
      expect((err as Error).message).toBe(
        `build/Dockerfile asks for the frontend "${f}" (syntax directive); builds from forks and pull requests may only use docker/dockerfile`,
      );
    }
  });
});

describe('checkUntrustedDockerfile: remote ADD sources', () => {
  it('lets ADD of context files through', () => {
    const text =
      'FROM scratch\nADD . /app\nADD --chown=1:1 a.tar.gz /\nRUN curl https://example.org\n';
    expect(remoteAdds(text)).toEqual([]);
    expect(() => checkUntrustedDockerfile('Dockerfile', text)).not.toThrow();
  });

  it('refuses ADD of a URL, a git repository or a variable, naming the file', () => {
    expect(() =>
      checkUntrustedDockerfile('Dockerfile', 'FROM scratch\nADD http://169.254.169.254/ /m\n'),
    ).toThrow(
      'Dockerfile adds a remote or variable source ("ADD http://169.254.169.254/ /m"); builds from forks and pull requests may only ADD files of their context',
    );
    for (const add of [
      'add https://x/y /z',
      'ONBUILD ADD http://x/ /z',
      'ADD ["http://x/", "/z"]',
      'ADD git@github.com:acme/x.git /z',
      'ADD $URL /z',
      'ADD ${URL} /z',
      '  ADD\thttp://x/ /z',
    ])
      expect(remoteAdds(`FROM scratch\n${add}\n`)).not.toEqual([]);
  });

  it('joins continuations as BuildKit does, for either escape character', () => {
    // The URL on a continuation line, with a comment and an empty line in between.
    expect(remoteAdds('FROM scratch\nADD \\\n# note\n\n  http://x/ /z\n')).not.toEqual([]);
    // The keyword itself split over lines.
    expect(remoteAdds('FROM scratch\nAD\\\nD http://x/ /z\n')).not.toEqual([]);
    expect(remoteAdds('# escape=`\nFROM scratch\nAD`\nD http://x/ /z\n')).not.toEqual([]);
    // With a backtick escape, a trailing backslash does not continue: the ADD is real.
    expect(remoteAdds('# escape=`\nFROM scratch\nRUN echo \\\nADD http://x/ /z\n')).not.toEqual([]);
  });
});

describe('untrustedBuildOptions', () => {
  it('puts cache mounts under their own namespace and sets the network', () => {
    expect(untrustedBuildOptions('none')).toEqual({
      buildargs: { BUILDKIT_CACHE_MOUNT_NS: 'deployer-untrusted' },
      networkmode: 'none',
    });
  });
});
