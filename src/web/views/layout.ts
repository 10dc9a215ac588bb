/** Every page: head, the header with its links, and the page's body. */
export const layout = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title><%= it.title %> · <%= it.flavour %> deployer</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<header class="top">
<a class="brand" href="/"><%= it.flavour %> deployer</a>
<nav>
<a href="/"<% if (it.nav === 'overview') { %> aria-current="page"<% } %>>Overview</a>
<a href="/services"<% if (it.nav === 'services') { %> aria-current="page"<% } %>>Services</a>
<a href="/metrics">Metrics</a>
<% if (it.viewer && it.viewer.admin) { %><a href="/admin/queues">Queues</a><% } %>
</nav>
<%~ include('@account', { viewer: it.viewer, path: it.path }) %>
</header>
<main>
<% if (it.viewer && it.viewer.flash) { %><p class="flash<% if (it.viewer.flash.error) { %> flash-error<% } %>" role="status"><%= it.viewer.flash.text %></p><% } %>
<%~ it.body %>
</main>
</body>
</html>
`;

/** A moment: relative, with the exact time on hover. */
export const when = `<% if (it.when) { %><time datetime="<%= it.when.iso %>" title="<%= it.when.iso %>"><%= it.when.ago %></time><% } else { %><span class="muted">—</span><% } %>`;

export const notFound = `<% layout('@layout', { title: 'Not found', nav: '', flavour: it.flavour, viewer: it.viewer, path: it.path }) %>
<h1>Not found</h1>
<p>There is no <%= it.what %> here<% if (it.hint) { %>: <%= it.hint %><% } %>.</p>
<p><a href="/">Back to the overview</a></p>
`;

export const error = `<% layout('@layout', { title: 'Error', nav: '', flavour: it.flavour, viewer: it.viewer, path: it.path }) %>
<h1>Something went wrong</h1>
<p>This page could not be built; the error is in the deployer's log. Try again in a moment.</p>
`;

export const forbidden = `<% layout('@layout', { title: 'Admins only', nav: '', flavour: it.flavour, viewer: it.viewer, path: it.path }) %>
<h1>Admins only</h1>
<p>Only admins of this flavour may open <%= it.what %>.</p>
`;

/** Who is signed in, or the way to sign in (absent when sign-in is not configured). */
export const account = `<div class="account">
<% if (it.viewer && it.viewer.login) { %>
<span><%= it.viewer.login %><% if (it.viewer.admin) { %> (admin)<% } %></span>
<form method="post" action="/logout"><input type="hidden" name="_csrf" value="<%= it.viewer.csrf %>"><button type="submit" class="link">Sign out</button></form>
<% } else if (it.viewer && it.viewer.canSignIn) { %>
<a href="/login?next=<%= encodeURIComponent(it.path || '/') %>">Sign in with GitHub</a>
<% } %>
</div>`;

/**
 * An admin's button: a POST form carrying the CSRF token and where to come back.
 * Rendered only for admins; the server checks again.
 */
export const button = `<% if (it.viewer && it.viewer.admin) { %><form method="post" action="<%= it.action %>" class="inline">
<input type="hidden" name="_csrf" value="<%= it.viewer.csrf %>">
<input type="hidden" name="back" value="<%= it.back %>">
<% Object.keys(it.fields || {}).forEach(function (k) { %><input type="hidden" name="<%= k %>" value="<%= it.fields[k] %>">
<% }) %><button type="submit"<% if (it.danger) { %> class="danger"<% } %>><%= it.label %></button>
</form><% } %>`;
