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
</nav>
</header>
<main>
<%~ it.body %>
</main>
</body>
</html>
`;

/** A moment: relative, with the exact time on hover. */
export const when = `<% if (it.when) { %><time datetime="<%= it.when.iso %>" title="<%= it.when.iso %>"><%= it.when.ago %></time><% } else { %><span class="muted">—</span><% } %>`;

export const notFound = `<% layout('@layout', { title: 'Not found', nav: '', flavour: it.flavour }) %>
<h1>Not found</h1>
<p>There is no <%= it.what %> here<% if (it.hint) { %>: <%= it.hint %><% } %>.</p>
<p><a href="/">Back to the overview</a></p>
`;

export const error = `<% layout('@layout', { title: 'Error', nav: '', flavour: it.flavour }) %>
<h1>Something went wrong</h1>
<p>This page could not be built; the error is in the deployer's log. Try again in a moment.</p>
`;
