/// The dashboard's style sheet and script, served from the binary as files of their own so
/// the pages can forbid inline scripts (Content-Security-Policy).
enum DashboardAssets {
    static let css = """
        :root { --ink: #1d2733; --muted: #5b6776; --line: #d9dee5; --card: #ffffff; --page: #f3f5f8; --accent: #1f6feb;
          --up: #1a7f37; --down: #c62828; --average: #e0a800; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
        * { box-sizing: border-box; }
        body { margin: 0; background: var(--page); color: var(--ink); }
        header { display: flex; flex-wrap: wrap; gap: 0.75rem 1.5rem; align-items: center; padding: 0.9rem 1.5rem; background: var(--card);
          border-bottom: 1px solid var(--line); }
        header h1 { font-size: 1.15rem; margin: 0; flex: 1 1 auto; }
        #filters { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; font-size: 0.85rem; }
        #filters label { display: flex; gap: 0.3rem; align-items: center; color: var(--muted); }
        select, input, button { font: inherit; padding: 0.3rem 0.45rem; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
        button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
        nav { display: flex; gap: 0.8rem; align-items: center; font-size: 0.85rem; }
        nav a { color: var(--accent); }
        main#panel { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 1rem; padding: 1rem 1.5rem 2rem; }
        .as-of { grid-column: 1 / -1; margin: 0; color: var(--muted); font-size: 0.85rem; }
        .kpis { grid-column: 1 / -1; display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 1rem; }
        .kpi, .card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 0.9rem 1.1rem; min-width: 0; }
        .card.wide { grid-column: 1 / -1; }
        h2 { font-size: 0.95rem; margin: 0 0 0.6rem; color: var(--muted); font-weight: 600; }
        h3 { font-size: 0.8rem; margin: 0.6rem 0 0.3rem; color: var(--muted); font-weight: 500; text-transform: uppercase; letter-spacing: 0.03em; }
        .kpi .value { font-size: 1.8rem; font-weight: 700; margin: 0; font-variant-numeric: tabular-nums; }
        .kpi .change { margin: 0.3rem 0 0; font-size: 0.85rem; }
        .kpi .change span { color: var(--muted); }
        .up { color: var(--up); } .down { color: var(--down); } .flat { color: var(--muted); }
        .chart { width: 100%; height: 240px; display: block; }
        .chart .bar { fill: var(--accent); opacity: 0.85; } .chart .bar.current { opacity: 0.5; }
        .chart .average { fill: none; stroke: var(--average); stroke-width: 2.5; }
        .chart .average-point { fill: var(--average); }
        .chart .axis { stroke: var(--line); } .chart .tick { font-size: 11px; fill: var(--muted); text-anchor: middle; }
        .legend { font-size: 0.8rem; color: var(--muted); margin: 0 0 0.4rem; }
        .swatch { display: inline-block; width: 0.8rem; height: 0.8rem; border-radius: 2px; margin: 0 0.3rem 0 0.8rem; vertical-align: -0.1rem; }
        .swatch.bar { background: var(--accent); } .swatch.average { background: var(--average); }
        .ranking { list-style: none; margin: 0; padding: 0; }
        .ranking li { display: grid; grid-template-columns: 7.5rem 1fr auto; gap: 0.5rem; align-items: center; font-size: 0.85rem; padding: 0.15rem 0; }
        .ranking .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
        .ranking .meter { width: 100%; height: 8px; } .ranking .meter rect { fill: var(--accent); opacity: 0.7; }
        .ranking .amount { font-variant-numeric: tabular-nums; }
        .scroll { overflow-x: auto; }
        table { width: 100%; border-collapse: collapse; font-size: 0.85rem; font-variant-numeric: tabular-nums; }
        th, td { text-align: right; padding: 0.35rem 0.5rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
        th:first-child, td:first-child { text-align: left; }
        #alerts tr.stock_out td:first-child { color: var(--down); font-weight: 600; }
        dl { display: grid; grid-template-columns: 1fr auto; gap: 0.35rem 1rem; margin: 0; font-size: 0.85rem; }
        dt { color: var(--muted); } dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
        .empty { color: var(--muted); font-size: 0.85rem; }
        .sign-in { max-width: 28rem; margin: 4rem auto; background: var(--card); padding: 1.5rem; border-radius: 10px; border: 1px solid var(--line); }
        .sign-in form { display: flex; flex-direction: column; gap: 0.7rem; }
        .sign-in label { display: flex; flex-direction: column; gap: 0.3rem; }
        @media (max-width: 640px) {
          header { padding: 0.7rem 0.8rem; } main#panel { padding: 0.8rem; grid-template-columns: 1fr; }
          .kpi .value { font-size: 1.5rem; } .chart { height: 180px; }
          .ranking li { grid-template-columns: 6rem 1fr auto; }
        }
        @media print { header nav, #filters { display: none; } }
        """

    /// Refreshes the panel every few seconds without reloading the page; a 401 (the session
    /// ended) reloads it, which shows the sign-in form.
    static let script = """
        "use strict";
        (function () {
          const panel = document.getElementById("panel");
          if (panel) {
            const refresh = async function () {
              try {
                const answer = await fetch(panel.dataset.refresh, { credentials: "same-origin", cache: "no-store" });
                if (answer.status === 401) { window.location.reload(); return; }
                if (answer.ok) { panel.innerHTML = await answer.text(); panel.dataset.refreshed = String(Date.now()); }
              } catch (error) { /* offline for a moment: the next round tries again */ }
            };
            window.setInterval(refresh, 5000);
          }
          const signOut = document.getElementById("sign-out");
          if (signOut) {
            signOut.addEventListener("click", async function () {
              await fetch("/v1/session", { method: "DELETE", credentials: "same-origin" });
              window.location.reload();
            });
          }
        })();
        """
}
