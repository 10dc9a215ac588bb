export type BuildStatus = 'queued' | 'running' | 'success' | 'failure' | 'cancelled';

/** What is known of one build spec × pool of a commit. */
export interface BuildRecord {
  specKey: string;
  label: string;
  pool: string;
  jobId: string;
  status: BuildStatus;
  queuedAt: number;
  startedAt?: number;
  finishedAt?: number;
  error?: string;
  logTail?: string[];
}

export interface CheckRunState {
  status: 'queued' | 'in_progress' | 'completed';
  conclusion?: 'success' | 'failure' | 'cancelled';
  detailsUrl: string;
  output: { title: string; summary: string; text?: string };
}

export const CHECK_NAME = 'deployability';
const LOG_LINES = 40;
const LINE_CHARS = 500;
const TITLE_CHARS = 200;
// GitHub refuses output fields over 65535 characters.
const MAX_FIELD = 65_000;

const DONE: ReadonlySet<BuildStatus> = new Set(['success', 'failure', 'cancelled']);

const ICON: Record<BuildStatus, string> = {
  queued: '⏳ queued',
  running: '🔄 running',
  success: '✅ passed',
  failure: '❌ failed',
  cancelled: '⛔ cancelled',
};

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}

// Only finished builds show a time, so a running build's check run is not rewritten every second.
function duration(r: BuildRecord): string {
  if (r.startedAt === undefined || r.finishedAt === undefined) return '';
  return formatDuration(r.finishedAt - r.startedAt);
}

function truncate(text: string, max = MAX_FIELD): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n… (truncated)`;
}

function overall(records: BuildRecord[]): Pick<CheckRunState, 'status' | 'conclusion'> {
  if (records.every((r) => DONE.has(r.status))) {
    if (records.some((r) => r.status === 'failure'))
      return { status: 'completed', conclusion: 'failure' };
    if (records.some((r) => r.status === 'cancelled'))
      return { status: 'completed', conclusion: 'cancelled' };
    return { status: 'completed', conclusion: 'success' };
  }
  return records.some((r) => r.status !== 'queued')
    ? { status: 'in_progress' }
    : { status: 'queued' };
}

function title(
  records: BuildRecord[],
  state: Pick<CheckRunState, 'status' | 'conclusion'>,
): string {
  const count = (s: BuildStatus) => records.filter((r) => r.status === s).length;
  const n = records.length;
  switch (state.conclusion ?? state.status) {
    case 'success':
      return `${n} of ${n} builds passed`;
    case 'failure':
      return `${count('failure')} of ${n} builds failed`;
    case 'cancelled':
      return `Cancelled: ${records.find((r) => r.status === 'cancelled')?.error ?? 'superseded'}`;
    case 'queued':
      return `${n} build${n === 1 ? '' : 's'} queued`;
    default:
      return `${count('running')} running, ${records.filter((r) => DONE.has(r.status)).length} of ${n} done`;
  }
}

/** The check run for one commit, from the records of its builds (pure, so it is tested as data). */
export function checkRunState(records: BuildRecord[], baseUrl: string): CheckRunState {
  const sorted = [...records].sort(
    (a, b) => a.label.localeCompare(b.label) || a.pool.localeCompare(b.pool),
  );
  const state = overall(sorted);
  const rows = sorted.map(
    (r) =>
      `| [${r.label}](${jobUrl(baseUrl, r.jobId)}) | ${r.pool} | ${ICON[r.status]} | ${duration(r)} |`,
  );
  const summary = ['| Build | Pool | Status | Time |', '| --- | --- | --- | --- |', ...rows].join(
    '\n',
  );
  const details: string[] = [];
  let size = 0;
  for (const r of sorted.filter((r) => r.status === 'failure' || r.status === 'cancelled')) {
    if (size > MAX_FIELD) break; // the rest would be cut anyway
    const lines = (r.logTail ?? []).slice(-LOG_LINES).map((l) => truncate(l, LINE_CHARS));
    const outcome = r.status === 'failure' ? 'failed' : 'cancelled';
    const head = `### ${r.label} on ${r.pool}: ${outcome}\n\n${truncate(r.error ?? '', 2_000)}`;
    const section = head + (lines.length ? `\n\n\`\`\`\n${lines.join('\n')}\n\`\`\`` : '');
    details.push(section);
    size += section.length;
  }
  const focus = sorted.find((r) => r.status === 'failure') ?? sorted[0];
  return {
    ...state,
    detailsUrl: focus ? jobUrl(baseUrl, focus.jobId) : baseUrl,
    output: {
      title: truncate(title(sorted, state), TITLE_CHARS),
      summary: truncate(summary),
      ...(details.length ? { text: truncate(details.join('\n\n')) } : {}),
    },
  };
}

export const jobUrl = (baseUrl: string, jobId: string): string =>
  `${baseUrl.replace(/\/+$/, '')}/jobs/${encodeURIComponent(jobId)}`;
