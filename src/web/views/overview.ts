/** The overview: gated operations, then repositories → builds → refs with their jobs per pool. */
export const overview = `<% layout('@layout', { title: 'Overview', nav: 'overview', flavour: it.flavour, viewer: it.viewer, path: it.path }) %>
<h1>Repositories</h1>
<%~ include('@drift', { drift: it.drift }) %>
<% if (it.pending) { %>
<section class="pending">
<h2>Waiting for confirmation</h2>
<% if (it.confirm) { %><%~ include('@confirm-level', { confirm: it.confirm, viewer: it.viewer, path: it.path }) %><% } %>
<% if (!it.pending.length) { %>
<p class="muted">Nothing is waiting.</p>
<% } else { %>
<div class="wrap"><table>
<thead><tr><th>Job</th><th>Operation</th><th>What</th><th>Since</th><th>To confirm</th></tr></thead>
<tbody>
<% it.pending.forEach(function (p) { %>
<tr>
<td><a href="<%= p.href %>"><code><%= p.jobId %></code></a></td>
<td><%= p.op %></td>
<td><%= p.description %></td>
<td><%~ include('@when', { when: p.since }) %></td>
<td><% if (it.viewer && it.viewer.admin) { %><%~ include('@button', { viewer: it.viewer, back: it.path, action: '/jobs/' + encodeURIComponent(p.jobId) + '/confirm', fields: { op: p.op }, label: 'Confirm ' + p.op }) %><% } else { %><code>deployer confirm <%= p.jobId %> <%= p.op %></code><% } %></td>
</tr>
<% }) %>
</tbody>
</table></div>
<% } %>
</section>
<% } %>
<% if (!it.repos.length) { %>
<p class="muted">This flavour watches no repository.</p>
<% } %>
<% it.repos.forEach(function (repo) { %>
<section class="repo">
<h2><%= repo.fullName %></h2>
<% repo.specs.forEach(function (spec) { %>
<h3><%= spec.label %></h3>
<% if (!spec.rows.length) { %>
<p class="muted">No commit seen yet.</p>
<% } else { %>
<div class="wrap"><table>
<thead><tr><th>Ref</th><th>Commit</th><% spec.pools.forEach(function (pool) { %><th><%= pool %></th><% }) %><th>When</th></tr></thead>
<tbody>
<% spec.rows.forEach(function (r) { %>
<% var first = r.cells.find(function (c) { return c.href; }); %>
<tr class="ref-<%= r.kind %>">
<td><%= r.label %><% if (r.kind === 'deploy') { %> <span class="tag">deploys</span><% } %></td>
<td><% if (first) { %><a href="<%= first.href %>"><code><%= r.short %></code></a><% } else { %><code><%= r.short %></code><% } %></td>
<% r.cells.forEach(function (c) { %>
<td><% if (c.href) { %><a class="state state-<%= c.status %>" href="<%= c.href %>"><%= c.status %></a><% } else { %><span class="muted">not built</span><% } %></td>
<% }) %>
<td><%~ include('@when', { when: r.when }) %></td>
</tr>
<% }) %>
</tbody>
</table></div>
<% } %>
<% }) %>
</section>
<% }) %>
`;
