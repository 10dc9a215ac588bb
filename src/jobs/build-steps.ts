import { packContext } from '../exec/build-context.js';
import { buildImage } from '../exec/docker/build.js';
import { fetchCommit } from '../exec/git.js';
import { stageImage } from './stage.js';

/** A build's side effects, in order: fetch the commit, pack its context, build it, stage the image. */
export interface BuildSteps {
  fetchCommit: typeof fetchCommit;
  packContext: typeof packContext;
  buildImage: typeof buildImage;
  stageImage: typeof stageImage;
}

/** The real steps: git, tar, the engine and the staging registry. */
export const buildSteps: BuildSteps = { fetchCommit, packContext, buildImage, stageImage };
