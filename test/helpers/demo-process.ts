import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The Quick start demo run as a user runs it: `bash scripts/demo.sh`, output collected. */
export interface DemoProcess {
  child: ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  /** Waits until the output matches `pattern`; fails early if the demo exits. */
  waitForOutput(pattern: RegExp, ms: number): Promise<RegExpMatchArray>;
  /** Its exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

export function startDemo(env: Record<string, string>, args: string[] = []): DemoProcess {
  const child = spawn('bash', ['scripts/demo.sh', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  let done = false;
  child.stdout.on('data', (b: Buffer) => (text += b.toString()));
  child.stderr.on('data', (b: Buffer) => (text += b.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      done = true;
      resolve(code);
    }),
  );
  return {
    child,
    output: () => text,
    exited,
    async waitForOutput(pattern, ms) {
      const deadline = Date.now() + ms;
      for (;;) {
        const match = text.match(pattern);
        if (match) return match;
        if (done) throw new Error(`the demo exited before printing ${pattern}:\n${text}`);
        if (Date.now() > deadline)
          throw new Error(`the demo did not print ${pattern} within ${ms} ms:\n${text}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}
