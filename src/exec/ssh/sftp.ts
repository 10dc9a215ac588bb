import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SFTPWrapper } from 'ssh2';
import { withConnection } from './connect.js';
import { describeTarget, type SshTarget } from './destination.js';
import { SshError } from './errors.js';
import type { SshSettings } from './settings.js';

export interface SftpPutOptions {
  mode?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Streams a file to `remotePath` atomically: written beside it, then renamed over it. */
export async function sftpPut(
  target: SshTarget,
  settings: SshSettings,
  local: Readable,
  remotePath: string,
  opts: SftpPutOptions = {},
): Promise<void> {
  const where = describeTarget(target);
  const tmp = `${remotePath}.tmp-${randomBytes(6).toString('hex')}`;
  return withConnection(target, { ...opts, settings }, `copying to ${remotePath}`, async (conn) => {
    const sftp = await new Promise<SFTPWrapper>((resolve, reject) =>
      conn.sftp((err, s) => (err ? reject(err) : resolve(s))),
    );
    try {
      const out = sftp.createWriteStream(tmp, { mode: opts.mode ?? 0o644 });
      const closed = once(out, 'close');
      closed.catch(() => undefined);
      await pipeline(local, out);
      await closed;
      // posix-rename@openssh.com replaces the target; plain SFTP rename refuses to.
      await new Promise<void>((resolve, reject) =>
        sftp.ext_openssh_rename(tmp, remotePath, (err) => (err ? reject(err) : resolve())),
      );
    } catch (err) {
      await new Promise((resolve) => sftp.unlink(tmp, resolve));
      throw new SshError(
        `cannot write ${remotePath} on ${where}: ${(err as Error).message}`,
        'other',
        where,
      );
    }
  });
}
