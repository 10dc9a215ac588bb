/**
 * A job: what it builds or deploys, its timings and its log. While it runs, a few
 * lines of script append what `/jobs/:id/log` streams (text only, never HTML).
 */
export const job = `<% layout('@layout', { title: it.job.title, nav: '', flavour: it.flavour, viewer: it.viewer, path: it.path }) %>
<% var j = it.job; %>
<h1><%= j.title %> <span id="state" class="state state-<%= j.state %>"><%= j.state %></span></h1>
<dl class="facts">
<dt>Repository</dt><dd><%= j.repo %></dd>
<dt>Commit</dt><dd><code><%= j.sha %></code></dd>
<dt>Ref</dt><dd><%= j.ref %></dd>
<dt><%= j.kind === 'build' ? 'Build' : 'Deploy' %></dt><dd><%= j.what %></dd>
<dt>Job</dt><dd><code><%= j.id %></code></dd>
<dt>Attempts</dt><dd><%= j.attempts %></dd>
<dt>Queued</dt><dd><%~ include('@when', { when: j.queued }) %><% if (j.waited) { %> · waited <%= j.waited %><% } %></dd>
<dt>Started</dt><dd><%~ include('@when', { when: j.started }) %></dd>
<dt>Finished</dt><dd><%~ include('@when', { when: j.ended }) %><% if (j.ran) { %> · ran <%= j.ran %><% } %></dd>
<% if (j.result) { %><dt>Result</dt><dd><%= j.result %></dd><% } %>
</dl>
<% if (j.waiting.length) { %>
<section class="pending">
<h2>Waiting for confirmation</h2>
<ul>
<% j.waiting.forEach(function (w) { %><li><%= w.op %>: <%= w.description %>
<% if (it.viewer && it.viewer.admin) { %><%~ include('@button', { viewer: it.viewer, back: it.path, action: '/jobs/' + encodeURIComponent(j.id) + '/confirm', fields: { op: w.op }, label: 'Confirm ' + w.op }) %><% } else { %><span class="muted">(an admin confirms it)</span><% } %></li>
<% }) %>
</ul>
</section>
<% } %>
<% if (it.viewer && it.viewer.admin) { %>
<div class="actions">
<%~ include('@button', { viewer: it.viewer, back: it.path, action: '/jobs/' + encodeURIComponent(j.id) + '/rebuild', label: 'Rebuild ' + j.short }) %>
<% if (j.cancellable) { %><%~ include('@button', { viewer: it.viewer, back: it.path, action: '/jobs/' + encodeURIComponent(j.id) + '/cancel', label: j.kind === 'build' ? 'Cancel builds of ' + j.short : 'Cancel this deploy', danger: true }) %><% } %>
</div>
<% } %>
<% if (j.failedReason) { %>
<div class="error"><h2>Failed</h2><pre><%= j.failedReason %></pre></div>
<% } %>
<h2>Log <span id="live" class="muted"><% if (j.stream) { %>(live)<% } %></span></h2>
<% if (j.earlier) { %><p class="muted">Showing the end of the log. <a href="<%= j.earlier.href %>">The whole log</a> (as text).</p><% } %>
<% if (!j.lines.length && !j.stream) { %><p class="muted">No output.</p><% } %>
<ol id="log" class="log"<% if (j.stream) { %> data-stream="<%= j.stream %>"<% } %>>
<% j.lines.forEach(function (line) { %><li><%= line %></li>
<% }) %></ol>
<% if (j.stream) { %>
<script nonce="<%= it.nonce %>">
(function () {
  var log = document.getElementById('log');
  var source = new EventSource(log.dataset.stream);
  source.onmessage = function (e) {
    var follow = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
    e.data.split('\\n').forEach(function (line) {
      var li = document.createElement('li');
      li.textContent = line;
      log.appendChild(li);
    });
    if (follow) window.scrollTo(0, document.body.scrollHeight);
  };
  source.addEventListener('expired', function (e) {
    source.close();
    document.getElementById('live').textContent = '(' + e.data + ')';
  });
  source.addEventListener('end', function (e) {
    source.close();
    var state = document.getElementById('state');
    state.textContent = e.data;
    state.className = 'state state-' + e.data;
    document.getElementById('live').textContent = '(finished; reload for timings)';
  });
})();
</script>
<% } %>
`;
