/**
 * The confirmation threshold, and for admins the form that changes it at runtime
 * (the original's settings form, posted to the same `/set/confirm`).
 */
export const confirmLevel = `<% var c = it.confirm; %>
<p class="confirm-level">Now <%= c.summary %><% if (c.source === 'admin') { %>: set by <%= c.by %> <%~ include('@when', { when: c.at }) %><% } else if (c.source === 'released') { %>: the configured level was released <%~ include('@when', { when: c.releaseAt }) %>, at the end of its start-up period<% } else if (c.releaseAt) { %>, as configured, until its start-up period ends at <time datetime="<%= c.releaseAt.iso %>"><%= c.releaseAt.iso %></time><% } else { %>, as configured<% } %>.</p>
<% if (it.viewer && it.viewer.admin) { %><form method="post" action="/set/confirm" class="inline">
<input type="hidden" name="_csrf" value="<%= it.viewer.csrf %>">
<input type="hidden" name="back" value="<%= it.path %>">
<select name="level" aria-label="Confirmation level">
<% c.choices.forEach(function (o) { %><option value="<%= o.value %>"<% if (o.selected) { %> selected<% } %>><%= o.label %></option>
<% }) %></select>
<button type="submit">Set</button>
</form><% } %>
`;
