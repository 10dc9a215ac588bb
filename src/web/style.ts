/** The one stylesheet, served as /style.css: no build step, no external fonts. */
export const STYLE = `
:root { --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --bg: #fff; --soft: #f6f8fa;
  --ok: #1a7f37; --bad: #cf222e; --run: #9a6700; --wait: #656d76; --link: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--link); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre, .log { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
header.top { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: baseline; padding: .75rem 1.25rem; background: #24292f; }
header.top a { color: #fff; }
header.top .brand { font-weight: 600; font-size: 1.05rem; }
header.top nav { display: flex; gap: 1rem; }
header.top nav a { color: #d0d7de; }
header.top nav a[aria-current="page"] { color: #fff; border-bottom: 2px solid #fff; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
h3 { font-size: 1rem; margin: 1rem 0 .4rem; font-weight: 600; }
section { border: 1px solid var(--line); border-radius: 6px; padding: .25rem 1rem 1rem; margin: 1rem 0; }
.muted { color: var(--muted); }
.wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); font-weight: 600; font-size: .85rem; }
tr.ref-deploy td:first-child { font-weight: 600; }
.tag { display: inline-block; font-size: .75rem; padding: 0 .4rem; border-radius: 1rem; background: var(--soft); border: 1px solid var(--line); color: var(--muted); font-weight: normal; }
.state { display: inline-block; font-size: .8rem; font-weight: 600; padding: 0 .5rem; border-radius: 1rem; border: 1px solid currentColor; white-space: nowrap; }
.state-success, .state-completed, .state-deployed, .state-unchanged { color: var(--ok); }
.state-failure, .state-failed { color: var(--bad); }
.state-running, .state-active, .state-deploying { color: var(--run); }
.state-queued, .state-waiting, .state-delayed, .state-prioritized, .state-cancelled, .state-superseded, .state-never-deployed, .state-unknown { color: var(--wait); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0 0 1rem; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.error pre { background: #ffebe9; border: 1px solid #ffcecb; padding: .5rem .75rem; border-radius: 6px; white-space: pre-wrap; overflow-wrap: anywhere; }
ol.log { background: #0d1117; color: #e6edf3; margin: 0; padding: .75rem .75rem .75rem 3.5rem; border-radius: 6px; overflow-x: auto; line-height: 1.45; }
ol.log li { white-space: pre-wrap; overflow-wrap: anywhere; }
ol.log li::marker { color: #6e7681; font-size: 11px; }
.digest { overflow-wrap: anywhere; }
header.top .account { margin-left: auto; display: flex; gap: .75rem; align-items: baseline; color: #d0d7de; }
form.inline, header.top form { display: inline; margin: 0; }
button { font: inherit; font-size: .85rem; padding: .15rem .7rem; border: 1px solid var(--line); border-radius: 6px; background: var(--soft); color: var(--fg); cursor: pointer; }
button:hover { border-color: var(--muted); }
button.danger { color: var(--bad); }
button.link { border: 0; background: none; color: #d0d7de; padding: 0; }
.actions { display: flex; gap: .5rem; margin: 0 0 1rem; }
.flash { padding: .5rem .75rem; border: 1px solid #aceebb; background: #dafbe1; border-radius: 6px; }
.flash-error { border-color: #ffcecb; background: #ffebe9; }
.pin { padding: .4rem .75rem; border-left: 3px solid var(--run); background: #fff8c5; }
.state-pinned { color: var(--run); }
@media (max-width: 40rem) {
  main { padding: .75rem; }
  section { padding: .25rem .6rem .75rem; }
  ol.log { padding-left: 2.75rem; }
  dl.facts { grid-template-columns: 1fr; }
  dl.facts dd { margin-bottom: .4rem; }
}
`;
