/**
 * Git's rules for a ref name (git check-ref-format), so a name from a webhook is
 * safe to put in a git command, a Redis key or a log line.
 */
export function isValidRefName(name: string): boolean {
  if (name.length === 0) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return false;
  if (name.includes('..') || name.includes('@{') || name.includes('//')) return false;
  if (name.startsWith('/') || name.startsWith('-') || name.endsWith('/') || name.endsWith('.'))
    return false;
  if (name === '@') return false;
  return name.split('/').every((part) => !part.startsWith('.') && !part.endsWith('.lock'));
}
