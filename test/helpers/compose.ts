import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
let command: string[] | undefined;

/** `docker compose` (the CLI plugin) when the docker CLI has it, else `docker-compose`. */
export function composeCommand(): string[] {
  if (command) return command;
  for (const candidate of [['docker', 'compose'], ['docker-compose']]) {
    try {
      execFileSync(candidate[0], [...candidate.slice(1), 'version'], { stdio: 'ignore' });
      return (command = candidate);
    } catch {
      // not this one
    }
  }
  throw new Error(
    'neither `docker compose` nor `docker-compose` works (bash scripts/services.sh install)',
  );
}

/**
 * One compose project (its own name, so its containers, network and volumes are its
 * own) over the given files, with exactly `env` for `${VAR}` substitution: an
 * empty env file keeps a `.env` next to the compose file out of it.
 */
export class ComposeProject {
  private readonly envFile: string;

  constructor(
    readonly name: string,
    readonly files: string[],
    readonly env: Record<string, string>,
  ) {
    this.envFile = join(mkdtempSync(join(tmpdir(), 'deployer-compose-')), 'empty.env');
    writeFileSync(this.envFile, '');
  }

  /** Runs a compose subcommand; resolves to its stdout, rejects with its stderr's end. */
  async run(args: string[], timeoutMs = 120_000): Promise<string> {
    const [cmd, ...pre] = composeCommand();
    const argv = [
      ...pre,
      '--env-file',
      this.envFile,
      '-p',
      this.name,
      ...this.files.flatMap((f) => ['-f', f]),
      ...args,
    ];
    try {
      const { stdout } = await run(cmd, argv, {
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? '/root',
          ...this.env,
        },
        timeout: timeoutMs,
        maxBuffer: 64 * 2 ** 20,
      });
      return stdout;
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new Error(
        `${cmd} ${argv.join(' ')} failed: ${e.message}\n${(e.stderr ?? '').slice(-4000)}`,
      );
    }
  }

  /** The id of the (first) container of `service`. */
  async containerId(service: string): Promise<string> {
    const id = (await this.run(['ps', '-q', service])).trim().split('\n')[0];
    if (!id) throw new Error(`compose project ${this.name} has no container for ${service}`);
    return id;
  }

  /** The last lines of every service's log, for a failure message. */
  async logs(lines = 60): Promise<string> {
    try {
      return await this.run(['logs', '--no-color', '--tail', String(lines)]);
    } catch (err) {
      return `(no logs: ${(err as Error).message})`;
    }
  }

  /** Stops and removes the containers, network and volumes. */
  async down(): Promise<void> {
    await this.run(['down', '--volumes', '--remove-orphans', '--timeout', '5']);
  }
}
