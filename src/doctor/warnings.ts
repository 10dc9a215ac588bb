/** What a drift warning is about; the order is the order the web UI lists them in. */
export const DRIFT_KINDS = [
  'not-installed',
  'context-unreachable',
  'duplicate-service',
  'check-not-required',
  'protection-unreadable',
  'not-configured',
] as const;

export type DriftKind = (typeof DRIFT_KINDS)[number];

/** A difference between the config and the world that an operator should fix. */
export interface DriftWarning {
  kind: DriftKind;
  /** The repository, branch, service or context it is about; with `kind`, it names the warning. */
  subject: string;
  message: string;
}

export const driftId = (w: Pick<DriftWarning, 'kind' | 'subject'>): string =>
  `${w.kind} ${w.subject}`;

/** Warnings in the order people read them: by kind, then subject. */
export function sortWarnings<W extends DriftWarning>(warnings: readonly W[]): W[] {
  return [...warnings].sort(
    (a, b) =>
      DRIFT_KINDS.indexOf(a.kind) - DRIFT_KINDS.indexOf(b.kind) ||
      a.subject.localeCompare(b.subject),
  );
}

/** A few words per kind, as the web UI tags each warning. */
export const DRIFT_LABELS: Record<DriftKind, string> = {
  'not-installed': 'not installed',
  'context-unreachable': 'unreachable',
  'duplicate-service': 'claimed twice',
  'check-not-required': 'check not required',
  'protection-unreadable': 'no permission',
  'not-configured': 'not watched',
};
