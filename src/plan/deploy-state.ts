/** Where a commit's deploy of one unit (service, stack, unikernel) stands, as its check run tells it. */
export type UnitDeployState =
  | { name: string; state: 'deploying' }
  | { name: string; state: 'deployed'; digest: string }
  | { name: string; state: 'failed'; reason: string }
  | { name: string; state: 'pinned'; by: string; pinnedSha: string }
  | { name: string; state: 'superseded' };

const REASON_CHARS = 300;

/** Text from a host or engine inside a table cell: one line, no cell break, in code it cannot close. */
function inlineCode(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim().slice(0, REASON_CHARS).replace(/\|/g, '\\|');
  const longest = Math.max(0, ...(line.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  // A space inside the fence keeps a backtick at either end from joining it (CommonMark).
  return `${fence} ${line} ${fence}`;
}

function describe(u: UnitDeployState): string {
  switch (u.state) {
    case 'deploying':
      return '🔄 deploying';
    case 'deployed':
      return `✅ deployed ${inlineCode(u.digest)}`;
    case 'failed':
      return `❌ failed: ${inlineCode(u.reason)}`;
    case 'pinned':
      return `📌 pinned to ${u.pinnedSha.slice(0, 7)} by ${inlineCode(u.by)}'s rollback: not deployed`;
    case 'superseded':
      return '⏭️ superseded by a newer head';
  }
}

/** The deploys of a commit as a table for its check run's summary; empty when there are none. */
export function deployTable(units: UnitDeployState[]): string {
  if (!units.length) return '';
  const rows = [...units]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((u) => `| ${inlineCode(u.name)} | ${describe(u)} |`);
  return ['| Deploy to | State |', '| --- | --- |', ...rows].join('\n');
}
