import { formatDuration } from '../plan/check-run-output.js';

/** A moment shown to people: relative ("3 min ago") with the exact UTC time beside it. */
export interface When {
  iso: string;
  ago: string;
}

export function when(ms: number | undefined, now = Date.now()): When | undefined {
  if (ms === undefined || !Number.isFinite(ms)) return undefined;
  const s = Math.max(0, Math.round((now - ms) / 1000));
  const ago =
    s < 60
      ? `${s}s ago`
      : s < 3600
        ? `${Math.floor(s / 60)} min ago`
        : s < 86_400
          ? `${Math.floor(s / 3600)} h ago`
          : `${Math.floor(s / 86_400)} d ago`;
  return { iso: new Date(ms).toISOString(), ago };
}

/** How long something took, or has taken so far when it has not finished. */
export function took(start: number | undefined, end: number | undefined, now = Date.now()) {
  if (start === undefined) return undefined;
  return formatDuration((end ?? now) - start) + (end === undefined ? ' so far' : '');
}

export const shortSha = (sha: string): string => sha.slice(0, 7);

/** `main` for refs/heads/main, `PR #12` for refs/pull/12/head, the ref itself otherwise. */
export function refLabel(ref: string): string {
  const pr = /^refs\/pull\/(\d+)\/head$/.exec(ref);
  if (pr) return `PR #${pr[1]}`;
  return ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref;
}
