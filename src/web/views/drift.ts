/** Drift warnings: where config, GitHub and the docker contexts disagree. Nothing when all agree. */
export const drift = `<% if (it.drift && it.drift.length) { %>
<section class="drift">
<h2>Drift warnings</h2>
<div class="wrap"><table>
<thead><tr><th>Warning</th><th>Since</th></tr></thead>
<tbody>
<% it.drift.forEach(function (w) { %>
<tr class="drift-<%= w.kind %>">
<td><span class="state state-failure"><%= w.label %></span> <%= w.message %></td>
<td><%~ include('@when', { when: w.since }) %></td>
</tr>
<% }) %>
</tbody>
</table></div>
</section>
<% } %>
`;
