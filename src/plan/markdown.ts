/** A run of backticks longer than any in `text` (and at least `min`): a fence the text cannot close. */
function fenceFor(text: string, min: number): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  return '`'.repeat(Math.max(min, longest + 1));
}

/**
 * Untrusted text (build logs, error messages) as a fenced code block that the text
 * cannot close: the fence is longer than any run of backticks in it (CommonMark).
 */
export function codeBlock(text: string): string {
  const fence = fenceFor(text, 3);
  return `${fence}\n${text}\n${fence}`;
}

/**
 * Untrusted text inside a table cell: one line of at most `max` characters, its pipes
 * escaped, in inline code it cannot close.
 */
export function inlineCode(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim().slice(0, max).replace(/\|/g, '\\|');
  const fence = fenceFor(line, 1);
  // A space inside the fence keeps a backtick at either end from joining it (CommonMark).
  return `${fence} ${line} ${fence}`;
}
