import { deployTable, type UnitDeployState } from './deploy-state.js';
import { codeBlock } from './markdown.js';

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
  conclusion?: 'success' | 'failure' | 'cancelled' | 'action_required';
  detailsUrl: string;
  output: { title: string; summary: string; text?: string };
  /** Buttons GitHub shows on the check run (at most three); always sent, so old ones go. */
  actions: CheckRunAction[];
}

/** A requested action: GitHub sends `check_run.requested_action` with its identifier. */
export interface CheckRunAction {
  label: string;
  description: string;
  identifier: CheckAction;
}

export type CheckAction = 'rebuild' | 'confirm' | 'rollback';

/** Labels ≤ 20 characters and descriptions ≤ 40, as GitHub requires. */
export const CHECK_ACTIONS: Record<CheckAction, CheckRunAction> = {
  confirm: {
    identifier: 'confirm',
    label: 'Confirm',
    description: 'Let the waiting operations go ahead',
  },
  rebuild: { identifier: 'rebuild', label: 'Rebuild', description: 'Build this commit again' },
  rollback: {
    identifier: 'rollback',
    label: 'Roll back',
    description: 'Redeploy what ran before; pin it',
  },
};

/** Besides its builds, what a commit's check run shows: operations waiting, services it runs on. */
export interface CommitSituation {
  /** Operations of the commit's jobs waiting for an admin. */
  waiting?: { jobId: string; description: string }[];
  /** Services this commit was deployed to. */
  deployedTo?: string[];
  /** How the commit's deploys stand, unit by unit (deployment branches only). */
  deploys?: UnitDeployState[];
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

/** The buttons that fit the state: Confirm while waiting, Rebuild after a failure, Roll back once deployed. */
function actionsFor(
  state: Pick<CheckRunState, 'status' | 'conclusion'>,
  situation: CommitSituation,
): CheckRunAction[] {
  const ids: CheckAction[] = [];
  if (situation.waiting?.length) ids.push('confirm');
  if (state.conclusion === 'failure' || state.conclusion === 'cancelled') ids.push('rebuild');
  if (situation.deployedTo?.length) ids.push('rollback');
  return ids.map((id) => CHECK_ACTIONS[id]);
}

/** The check run for one commit, from the records of its builds (pure, so it is tested as data). */
export function checkRunState(
  records: BuildRecord[],
  baseUrl: string,
  situation: CommitSituation = {},
): CheckRunState {
  const sorted = [...records].sort(
    (a, b) => a.label.localeCompare(b.label) || a.pool.localeCompare(b.pool),
  );
  const waiting = situation.waiting ?? [];
  const built = overall(sorted);
  // Waiting for an admin outranks everything but a failure: nothing moves until they act.
  const state: Pick<CheckRunState, 'status' | 'conclusion'> =
    waiting.length && built.conclusion !== 'failure'
      ? { status: 'completed', conclusion: 'action_required' }
      : built;
  const rows = sorted.map(
    (r) =>
      `| [${r.label}](${jobUrl(baseUrl, r.jobId)}) | ${r.pool} | ${ICON[r.status]} | ${duration(r)} |`,
  );
  const builds = ['| Build | Pool | Status | Time |', '| --- | --- | --- | --- |', ...rows].join(
    '\n',
  );
  const deploys = deployTable(situation.deploys ?? []);
  const summary = deploys ? `${builds}\n\n${deploys}` : builds;
  const details: string[] = [];
  let size = 0;
  for (const r of sorted.filter((r) => r.status === 'failure' || r.status === 'cancelled')) {
    if (size > MAX_FIELD) break; // the rest would be cut anyway
    const lines = (r.logTail ?? []).slice(-LOG_LINES).map((l) => truncate(l, LINE_CHARS));
    const outcome = r.status === 'failure' ? 'failed' : 'cancelled';
    // Errors and logs may come from a fork's build: only ever inside a block they cannot close.
    const error = r.error ? `\n\n${codeBlock(truncate(r.error, 2_000))}` : '';
    const log = lines.length ? `\n\n${codeBlock(lines.join('\n'))}` : '';
    const section = `### ${r.label} on ${r.pool}: ${outcome}${error}${log}`;
    details.push(section);
    size += section.length;
  }
  const focus =
    state.conclusion === 'action_required'
      ? waiting[0].jobId
      : (sorted.find((r) => r.status === 'failure') ?? sorted[0])?.jobId;
  const waitingList = waiting.map((w) => `- ${w.description} ([job](${jobUrl(baseUrl, w.jobId)}))`);
  return {
    ...state,
    detailsUrl: focus ? jobUrl(baseUrl, focus) : baseUrl,
    output: {
      title: truncate(
        state.conclusion === 'action_required'
          ? `Waiting for an admin to confirm: ${waiting.map((w) => w.description).join('; ')}`
          : title(sorted, state),
        TITLE_CHARS,
      ),
      summary: truncate(
        waitingList.length
          ? `**Waiting for confirmation** (an admin presses Confirm)\n\n${waitingList.join('\n')}\n\n${summary}`
          : summary,
      ),
      ...(details.length ? { text: truncate(details.join('\n\n')) } : {}),
    },
    actions: actionsFor(state, situation),
  };
}

export const jobUrl = (baseUrl: string, jobId: string): string =>
  `${baseUrl.replace(/\/+$/, '')}/jobs/${encodeURIComponent(jobId)}`;
