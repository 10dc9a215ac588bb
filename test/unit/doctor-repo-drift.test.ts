import { describe, expect, it } from 'vitest';
import { repoDrift } from '../../src/doctor/repo-drift.js';
import { driftId, sortWarnings, type DriftWarning } from '../../src/doctor/warnings.js';

describe('repoDrift', () => {
  it('warns about a watched repository the App cannot see, in the words operators read', () => {
    expect(repoDrift(['acme/web', 'acme/api'], ['acme/api'], 'demo')).toEqual([
      {
        kind: 'not-installed',
        subject: 'acme/web',
        message: 'nothing will be deployed from acme/web: the App is not installed on it',
      },
    ]);
  });

  it('warns about a repository the App can see that the flavour does not watch', () => {
    expect(repoDrift(['acme/web'], ['acme/web', 'acme/docs'], 'demo')).toEqual([
      {
        kind: 'not-configured',
        subject: 'acme/docs',
        message:
          'the App is installed on acme/docs, which flavour "demo" does not watch: add it to the config or remove it from the installation',
      },
    ]);
  });

  it('compares names case-insensitively, as GitHub does', () => {
    expect(repoDrift(['Acme/Web'], ['acme/web'], 'demo')).toEqual([]);
  });

  it('says nothing when config and installation agree, and everything when nothing is installed', () => {
    expect(repoDrift(['acme/web', 'acme/api'], ['acme/api', 'acme/web'], 'demo')).toEqual([]);
    expect(repoDrift(['acme/web', 'acme/api'], [], 'demo').map((w) => w.subject)).toEqual([
      'acme/web',
      'acme/api',
    ]);
    expect(repoDrift([], [], 'demo')).toEqual([]);
  });
});

describe('drift warnings', () => {
  const w = (kind: DriftWarning['kind'], subject: string): DriftWarning => ({
    kind,
    subject,
    message: '',
  });

  it('are named by kind and subject', () => {
    expect(driftId(w('not-installed', 'acme/web'))).toBe('not-installed acme/web');
    expect(driftId(w('not-installed', 'acme/web'))).not.toBe(
      driftId(w('not-configured', 'acme/web')),
    );
  });

  it('sort the most pressing kinds first, then by subject', () => {
    const sorted = sortWarnings([
      w('not-configured', 'acme/a'),
      w('context-unreachable', 'prod'),
      w('not-installed', 'acme/z'),
      w('not-installed', 'acme/b'),
    ]);
    expect(sorted.map(driftId)).toEqual([
      'not-installed acme/b',
      'not-installed acme/z',
      'context-unreachable prod',
      'not-configured acme/a',
    ]);
  });
});
