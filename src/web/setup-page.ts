import { Eta } from 'eta';
import { STYLE } from './style.js';

const layout = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title><%= it.title %> · deployer setup</title>
<style><%~ it.style %></style>
</head>
<body>
<header class="top"><a class="brand" href="/">deployer setup</a></header>
<main>
<%~ it.body %>
</main>
</body>
</html>
`;

const register = `<% layout('@layout', { title: 'Register the GitHub App', style: it.style }) %>
<h1>Register the GitHub App</h1>
<p>This registers <strong><%= it.manifest.name %></strong> on <strong><%= it.githubHost %></strong>,
owned by <%= it.org ? 'the organization ' + it.org : 'your account' %>, with the events and
permissions of <code><%= it.appYml %></code>. GitHub lets you change the name, then sends you back
here; the App's id, private key and secrets are then written to <code><%= it.envFile %></code>.</p>
<dl class="facts">
<dt>Homepage (web UI)</dt><dd><%= it.manifest.url %></dd>
<dt>Webhook URL</dt><dd><%= it.manifest.hook_attributes.url %></dd>
<dt>Sign-in callback URL</dt><dd><%= it.manifest.callback_urls[0] %></dd>
<dt>Installable by</dt><dd><%= it.manifest.public ? 'any account' : 'its owner only' %></dd>
<dt>Events</dt><dd><%= it.manifest.default_events.join(', ') %></dd>
<dt>Permissions</dt><dd><%= Object.entries(it.manifest.default_permissions).map(function (p) { return p[0] + ': ' + p[1]; }).join(', ') %></dd>
<dt>Then install it on</dt><dd><%= it.repos.length ? it.repos.join(', ') : 'the repositories to build' %> (flavour <%= it.flavour %>)</dd>
</dl>
<p class="muted">GitHub must reach the webhook URL: it is this deployer's receiver
(<code>deployer start</code> or <code>serve</code>) at its public address (<code>--url</code>).</p>
<form method="post" action="<%= it.action %>">
<input type="hidden" name="manifest" value="<%= it.manifestJson %>">
<button type="submit" class="primary">Register GitHub App</button>
</form>
`;

const done = `<% layout('@layout', { title: 'Registered', style: it.style }) %>
<h1><%= it.app.name %> is registered</h1>
<p class="flash" role="status">Written to <code><%= it.envFile %></code>: <%= it.written.join(', ') %>.
The private key is in <code><%= it.keyFile %></code>.</p>
<h2>Install it</h2>
<p>Install the App on the repositories this deployer builds<% if (it.repos.length) { %>
(flavour <strong><%= it.flavour %></strong>)<% } %>:</p>
<% if (it.repos.length) { %><ul><% it.repos.forEach(function (r) { %><li><code><%= r %></code></li><% }) %></ul><% } %>
<p><a class="button primary" href="<%= it.installUrl %>">Install <%= it.app.name %></a></p>
<p class="muted">Then start the deployer with these settings: <code>set -a; . <%= it.envFile %>; set +a; deployer start</code>.</p>
`;

const failed = `<% layout('@layout', { title: 'Not registered', style: it.style }) %>
<h1>Not registered</h1>
<div class="error"><pre><%= it.message %></pre></div>
<p><a href="/">Back to the registration page</a> (GitHub's code is valid for one hour and only once).</p>
`;

const SETUP_STYLE = `${STYLE}
button.primary, a.button.primary { display: inline-block; font-size: 1rem; padding: .4rem 1rem; color: #fff; background: #1f883d; border-color: #1a7f37; }
a.button.primary:hover { text-decoration: none; background: #1a7f37; }
main { max-width: 52rem; }
`;

const TEMPLATES = { layout, register, done, failed };

/** The pages of `deployer setup`: register, registered (with the install link), failed. */
export function setupPages(): (name: 'register' | 'done' | 'failed', data: object) => string {
  const eta = new Eta({ autoEscape: true, cache: true });
  for (const [name, text] of Object.entries(TEMPLATES)) eta.loadTemplate(`@${name}`, text);
  return (name, data) => eta.render(`@${name}`, { ...data, style: SETUP_STYLE });
}
