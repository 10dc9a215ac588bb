/**
 * Untrusted text (build logs, error messages) as a fenced code block that the text
 * cannot close: the fence is longer than any run of backticks in it (CommonMark).
 */
export function codeBlock(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}\n${text}\n${fence}`;
}
