/** The batch pages' stylesheet (no script anywhere; the CSP allows exactly this style by its hash). */
export const CSS = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2937;background:#f4f5f7}
a{color:#1d4ed8;text-decoration:none}a:hover{text-decoration:underline}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
nav{display:flex;align-items:center;gap:18px;padding:0 24px;height:48px;background:#1f2937;color:#e5e7eb}
nav a{color:#e5e7eb}nav .brand{font-weight:600;color:#fff}nav a[aria-current]{color:#fff;border-bottom:2px solid #60a5fa;padding-bottom:2px}
nav .right{margin-left:auto;display:flex;gap:10px;align-items:center}
nav .env,nav .mode{font-size:12px;padding:2px 8px;border-radius:4px}
nav .env{font-weight:600}nav .mode{background:#374151}
main{max-width:1160px;margin:0 auto;padding:20px 24px 48px}
h1{font-size:22px;margin:4px 0 6px;display:flex;align-items:center;gap:12px;flex-wrap:wrap}
h1 .id{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:20px}
h2{font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:#6b7280;margin:0 0 8px}
h2.section{margin:28px 0 10px}
.lead{color:#4b5563;margin:0 0 16px}.muted{color:#6b7280;font-weight:400}.crumbs{margin:0;color:#6b7280}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid #e5e7eb;border-radius:8px;overflow:hidden}
th,td{padding:9px 8px;text-align:left;border-bottom:1px solid #eef0f3;vertical-align:top}
th{font-size:12px;font-weight:600;color:#6b7280;background:#fafbfc}
time,a.batch,.nowrap{white-space:nowrap}
th.num.short{white-space:normal;width:64px}td.took{min-width:124px}
th:first-child,td:first-child{padding-left:14px}th:last-child,td:last-child{padding-right:14px}
tbody tr:last-child td{border-bottom:0}tbody tr:hover{background:#f9fafb}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td .sub{display:block;font-size:12px;color:#6b7280}
.bad{color:#b91c1c}.good{color:#15803d}
a.batch{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}
.state{display:inline-block;padding:2px 9px;border-radius:999px;font-size:12px;font-weight:600;white-space:nowrap}
.state-running{background:#dbeafe;color:#1e40af}.state-cancelling{background:#fef3c7;color:#92400e}
.state-done{background:#dcfce7;color:#166534}.state-done-with-failures{background:#ffedd5;color:#9a3412}
.state-cancelled{background:#e5e7eb;color:#374151}
.progress{display:inline-flex;align-items:center;gap:8px;white-space:nowrap}
.pct{font-size:12px;color:#4b5563;font-variant-numeric:tabular-nums;min-width:2.6em}
progress{-webkit-appearance:none;appearance:none;width:80px;height:8px;border:0;border-radius:4px;background:#e5e7eb;overflow:hidden}
progress::-webkit-progress-bar{background:#e5e7eb;border-radius:4px}
progress::-webkit-progress-value{background:#3b82f6;border-radius:4px}progress::-moz-progress-bar{background:#3b82f6}
.bar-done::-webkit-progress-value{background:#16a34a}.bar-done::-moz-progress-bar{background:#16a34a}
.bar-done-with-failures::-webkit-progress-value{background:#ea580c}.bar-done-with-failures::-moz-progress-bar{background:#ea580c}
.bar-cancelled::-webkit-progress-value,.bar-cancelling::-webkit-progress-value{background:#9ca3af}
.bar-cancelled::-moz-progress-bar,.bar-cancelling::-moz-progress-bar{background:#9ca3af}
.overview{display:flex;align-items:center;gap:14px;margin:14px 0 16px}.overview progress{width:320px;height:10px}
.links{margin:6px 0 0;color:#374151}
.notice{margin:10px 0;padding:9px 12px;border-radius:6px;border:1px solid}
.notice.ok{background:#eff6ff;border-color:#bfdbfe;color:#1e3a8a}.notice.warn{background:#fff7ed;border-color:#fed7aa;color:#9a3412}
.cards{display:grid;grid-template-columns:repeat(3,1fr);gap:14px}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:14px 16px}
dl{margin:0}.fig{display:flex;justify-content:space-between;padding:3px 0;border-bottom:1px dashed #eef0f3}.fig:last-child{border-bottom:0}
dt{color:#6b7280}dd{margin:0;font-variant-numeric:tabular-nums;font-weight:500;text-align:right}
.actions{display:flex;align-items:center;gap:10px;margin:16px 0 0;flex-wrap:wrap}.actions form{margin:0}
.button,button{display:inline-block;font:inherit;font-weight:500;padding:7px 14px;border-radius:6px;border:1px solid #d1d5db;background:#fff;color:#1f2937;cursor:pointer}
.button:hover,button:hover{background:#f3f4f6;text-decoration:none}
button{background:#1d4ed8;border-color:#1d4ed8;color:#fff}button:hover{background:#1e40af}
button.danger{background:#fff;border-color:#fca5a5;color:#b91c1c}button.danger:hover{background:#fef2f2}
td.ref{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;white-space:nowrap}
td.reason{word-break:break-word;max-width:520px}
.note,.empty{color:#6b7280}.empty{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:16px}
`;
