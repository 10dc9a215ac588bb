import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readCheckoutFile } from './checkout-file.js';
import { fetchCommit, type FetchRequest } from './git.js';

/**
 * One file of a commit (a compose file to deploy), from a throw-away checkout under
 * `workDir`; read as readCheckoutFile reads it (a regular file inside the checkout, size capped).
 */
export async function readFileAtCommit(
  req: Omit<FetchRequest, 'dir'> & { workDir: string },
  path: string,
): Promise<string> {
  const dir = await mkdtemp(join(req.workDir, 'deploy-'));
  try {
    await fetchCommit({ ...req, dir });
    return await readCheckoutFile(dir, path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
