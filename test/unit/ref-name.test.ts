import { describe, expect, it } from 'vitest';
import { isValidRefName } from '../../src/plan/ref-name.js';

describe('isValidRefName', () => {
  it.each([
    'refs/heads/main',
    'refs/heads/feature/übung',
    'refs/heads/v1.2-rc+1',
    'refs/pull/12/head',
  ])('accepts %s', (ref) => expect(isValidRefName(ref)).toBe(true));

  it.each([
    '',
    'refs/heads/../../etc/passwd',
    'refs/heads/x;rm -rf /',
    'refs/heads/a b',
    'refs/heads/a\nb',
    'refs/heads/x~1',
    'refs/heads/x^',
    'refs/heads/a:b',
    'refs/heads/a?',
    'refs/heads/a*',
    'refs/heads/a[1]',
    'refs/heads/a\\b',
    'refs/heads/a@{1}',
    'refs/heads//a',
    '/refs/heads/a',
    '--upload-pack=evil',
    'refs/heads/a/',
    'refs/heads/a.',
    'refs/heads/.hidden',
    'refs/heads/x.lock',
    '@',
  ])('refuses %j', (ref) => expect(isValidRefName(ref)).toBe(false));
});
