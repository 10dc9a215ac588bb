import { inlineCode } from './markdown.js';

/** Where a commit's deploy of one unit (service, stack, unikernel) stands, as its check run tells it. */
export type UnitDeployState =
  | { name: string; state: 'deploying' }
  | { name: string; state: 'deployed'; digest: string }
  | { name: string; state: 'failed'; reason: string }
  | { name: string; state: 'pinned'; by: string; pinnedSha: string }
  | { name: string; state: 'superseded' };

/** Cells show at most this much of a reason (the job's log has all of it). */
const CELL_CHARS = 300;
const cell = (text: string) => inlineCode(text, CELL_CHARS);

function describe(u: UnitDeployState): string {
  switch (u.state) {
    case 'deploying':
      return '🔄 deploying';
    case 'deployed':
      return `✅ deployed ${cell(u.digest)}`;
    case 'failed':
      return `❌ failed: ${cell(u.reason)}`;
    case 'pinned':
      return `📌 pinned to ${u.pinnedSha.slice(0, 7)} by ${cell(u.by)}'s rollback: not deployed`;
    case 'superseded':
      return '⏭️ superseded by a newer head';
  }
}

/** The deploys of a commit as a table for its check run's summary; empty when there are none. */
export function deployTable(units: UnitDeployState[]): string {
  if (!units.length) return '';
  const rows = [...units]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((u) => `| ${cell(u.name)} | ${describe(u)} |`);
  return ['| Deploy to | State |', '| --- | --- |', ...rows].join('\n');
}
