/** Services: what runs on each, its state and its deploy history. */
export const services = `<% layout('@layout', { title: 'Services', nav: 'services', flavour: it.flavour }) %>
<h1>Services</h1>
<% if (!it.services.length) { %>
<p class="muted">This flavour deploys no service.</p>
<% } %>
<% it.services.forEach(function (s) { %>
<section class="service">
<h2><%= s.name %> <span class="state state-<%= s.state.replace(/ /g, '-') %>"><%= s.state %></span></h2>
<p class="muted"><%= s.kind %> · from <%= s.from %><% if (s.uri) { %> · <%= s.uri %><% } %> · <code><%= s.key %></code></p>
<% if (s.current) { %>
<p>Running <code class="digest"><%= s.current.digest %></code>
<% if (s.current.short) { %>from <a href="<%= s.current.href %>"><code><%= s.current.short %></code></a> <% } %>(<%= s.current.source %>), deployed <%~ include('@when', { when: s.current.when }) %></p>
<% } %>
<% if (s.history.length) { %>
<div class="wrap"><table>
<thead><tr><th>When</th><th>Result</th><th>Commit</th><th>Source</th><th>Digest</th><th>Took</th></tr></thead>
<tbody>
<% s.history.forEach(function (e) { %>
<tr>
<td><%~ include('@when', { when: e.when }) %></td>
<td><span class="state state-<%= e.result %>"><%= e.result %></span><% if (e.error) { %><div class="muted"><%= e.error %></div><% } %></td>
<td><% if (e.href) { %><a href="<%= e.href %>"><code><%= e.short %></code></a><% } else { %><span class="muted">—</span><% } %></td>
<td><%= e.source %></td>
<td><code class="digest"><%= e.digest.slice(0, 19) %></code></td>
<td><%= e.took || '' %></td>
</tr>
<% }) %>
</tbody>
</table></div>
<% } %>
</section>
<% }) %>
`;
