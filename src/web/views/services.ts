/** Services: what runs on each, its state and its deploy history. */
export const services = `<% layout('@layout', { title: 'Services', nav: 'services', flavour: it.flavour, viewer: it.viewer, path: it.path }) %>
<h1>Services</h1>
<% if (!it.services.length) { %>
<p class="muted">This flavour deploys no service.</p>
<% } %>
<% it.services.forEach(function (s) { %>
<section class="service">
<h2><%= s.name %> <span class="state state-<%= s.state.replace(/ /g, '-') %>"><%= s.state %></span></h2>
<p class="muted"><%= s.kind %> · from <%= s.from %><% if (s.uri) { %> · <%= s.uri %><% } %> · <code><%= s.key %></code></p>
<% if (s.pin) { %>
<p class="pin">Pinned to <code><%= s.pin.short %></code> by <%= s.pin.by %> <%~ include('@when', { when: s.pin.when }) %>: pushes are built but not deployed here<% if (s.pin.skipped) { %> (<code><%= s.pin.skipped %></code> was kept out)<% } %>.
<%~ include('@button', { viewer: it.viewer, back: it.path, action: '/services/unpin', fields: { service: s.key }, label: 'Unpin' }) %></p>
<% } %>
<% if (s.current) { %>
<p>Running <code class="digest"><%= s.current.digest %></code>
<% if (s.current.short) { %>from <a href="<%= s.current.href %>"><code><%= s.current.short %></code></a> <% } %>(<%= s.current.source %>), deployed <%~ include('@when', { when: s.current.when }) %> (<%= s.current.trigger %>)</p>
<% } %>
<% if (s.history.length) { %>
<div class="wrap"><table>
<thead><tr><th>When</th><th>Result</th><th>Commit</th><th>Source</th><th>Trigger</th><th>Digest</th><th>Took</th><% if (it.viewer && it.viewer.admin) { %><th></th><% } %></tr></thead>
<tbody>
<% s.history.forEach(function (e) { %>
<tr>
<td><%~ include('@when', { when: e.when }) %></td>
<td><span class="state state-<%= e.result %>"><%= e.result %></span><% if (e.error) { %><div class="muted"><%= e.error %></div><% } %></td>
<td><% if (e.href) { %><a href="<%= e.href %>"><code><%= e.short %></code></a><% } else { %><span class="muted">—</span><% } %></td>
<td><%= e.source %></td>
<td><%= e.trigger %></td>
<td><code class="digest"><%= e.digest.slice(0, 19) %></code></td>
<td><%= e.took || '' %></td>
<% if (it.viewer && it.viewer.admin) { %><td><% if (e.canRollBack) { %><%~ include('@button', { viewer: it.viewer, back: it.path, action: '/services/rollback', fields: { service: s.key, job: e.jobId }, label: 'Roll back to this', danger: true }) %><% } %></td><% } %>
</tr>
<% }) %>
</tbody>
</table></div>
<% } %>
</section>
<% }) %>
`;
