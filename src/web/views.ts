import { Eta } from 'eta';
import { confirmLevel } from './views/confirm.js';
import { drift } from './views/drift.js';
import { job } from './views/job.js';
import { account, button, error, forbidden, layout, notFound, when } from './views/layout.js';
import { overview } from './views/overview.js';
import { services } from './views/services.js';

const TEMPLATES = {
  layout,
  when,
  account,
  button,
  drift,
  'confirm-level': confirmLevel,
  overview,
  job,
  services,
  'not-found': notFound,
  forbidden,
  error,
};

export type ViewName = keyof typeof TEMPLATES;

/**
 * The pages' templates, compiled once. Eta escapes every `<%= %>` interpolation;
 * `<%~ %>` (raw) is used only for the layout's body and for included partials.
 */
export function createViews(): (name: ViewName, data: object) => string {
  const eta = new Eta({ autoEscape: true, cache: true });
  for (const [name, text] of Object.entries(TEMPLATES)) eta.loadTemplate(`@${name}`, text);
  return (name, data) => eta.render(`@${name}`, data);
}
