"""``summary.json``, ``report.md`` and a self-contained ``report.html`` rebuilt from ``results.jsonl``.

Plots are drawn with matplotlib's Agg backend (no display, no Qt), saved as
PNG files next to the report and embedded in the HTML as base64, so the HTML
can be mailed or archived as one file.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
from pathlib import Path
from typing import Any

from kidneytalk.errors import KidneyTalkError
from kidneytalk.vocabulary import EVAL_MODES

from .metrics import summarize
from .runner import RESULTS_FILE, RUN_FILE, EvalSummary, load_results

MODE_ORDER = EVAL_MODES


def _pct(x: float | None) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _num(x: float | None, fmt: str = "{:.2f}") -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else fmt.format(x)


def _p(x: float | None) -> str:
    return "–" if x is None else ("<0.001" if x < 0.001 else f"{x:.3f}")


def write_report(out_dir: str | os.PathLike[str], *, title: str | None = None) -> EvalSummary:
    """Recompute every metric from ``results.jsonl`` and write the summary and both reports."""
    out = Path(out_dir)
    records = load_results(out)
    if not records and not (out / RESULTS_FILE).exists():
        raise KidneyTalkError(f"No evaluation results in {out} (expected {RESULTS_FILE}).")
    order = {m: i for i, m in enumerate(MODE_ORDER)}
    records.sort(key=lambda r: order.get(r["mode"], 99))
    summary = summarize(records)
    run = (
        json.loads((out / RUN_FILE).read_text(encoding="utf-8"))
        if (out / RUN_FILE).exists()
        else {}
    )
    summary["run"] = run
    summary["title"] = title or run.get("title", "") or out.name
    (out / "summary.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    plots = _plots(out, summary)
    md = out / "report.md"
    md.write_text(_markdown(summary, plots), encoding="utf-8")
    page = out / "report.html"
    page.write_text(_html(summary, plots), encoding="utf-8")
    return EvalSummary(
        out_dir=out, per_mode=summary["per_mode"], summary=summary, report_md=md, report_html=page
    )


# ---------------------------------------------------------------- tables
def _tables(s: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(heading, header, rows) for every table, shared by Markdown and HTML."""
    modes = s["modes"]
    pm = s["per_mode"]
    tables = []
    answered = "majority" in s
    if answered:
        rows = []
        for m in modes:
            d = pm[m]
            ci = d.get("accuracy_ci") or [None, None]
            rows.append(
                [
                    m,
                    str(d["n"]),
                    f"{_pct(d.get('accuracy'))} ({_pct(ci[0])}–{_pct(ci[1])})",
                    _pct(d.get("refusal_rate")),
                    _pct(d.get("accuracy_answered")),
                    _pct(d.get("hit_rate")) if m != "no-rag" else "–",
                    _num(d.get("extractiveness")),
                    f"{_num(d['latency_p50'], '{:.1f}')} / {_num(d['latency_p95'], '{:.1f}')}",
                    _num(d.get("tokens_mean"), "{:.0f}"),
                ]
            )
        maj = s["majority"]
        rows.append(
            [
                f"always {', '.join(maj['answer'])} (majority)",
                str(maj["n"]),
                _pct(maj["accuracy"]),
                "–",
                "–",
                "–",
                "–",
                "–",
                "–",
            ]
        )
        common = s.get("common", {})
        if len(modes) > 1 and common.get("n"):
            rows.append(
                [
                    f"(on the {common['n']} questions every mode answered)",
                    str(common["n"]),
                    " / ".join(f"{m} {_pct(common['accuracy'][m])}" for m in modes),
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                ]
            )
        tables.append(
            (
                "Accuracy per mode",
                [
                    "mode",
                    "n",
                    "accuracy (95% CI)",
                    "refusals",
                    "accuracy when answered",
                    "gold page in evidence",
                    "extractiveness",
                    "latency p50 / p95 (s)",
                    "tokens / question",
                ],
                rows,
            )
        )
        comp_rows = []
        for m in modes:
            for ref, c in s["comparisons"][m].items():
                if ref == "vs_naive" or ref == "vs_majority":
                    comp_rows.append(
                        [
                            m,
                            ref.removeprefix("vs_"),
                            str(c["n"]),
                            str(c["only_this_correct"]),
                            str(c["only_reference_correct"]),
                            _p(c["p_value"]),
                        ]
                    )
        tables.append(
            (
                "Paired comparisons (exact McNemar)",
                [
                    "mode",
                    "against",
                    "paired questions",
                    "only this mode right",
                    "only the other right",
                    "p-value",
                ],
                comp_rows,
            )
        )
        if s.get("per_tag"):
            tag_rows = [
                [t]
                + [f"{_pct(v[m]['accuracy'])} (n={v[m]['n']})" if m in v else "–" for m in modes]
                for t, v in s["per_tag"].items()
            ]
            tables.append(("Accuracy per tag", ["tag", *modes], tag_rows))
    ref_modes = [
        m
        for m in modes
        if (pm[m].get("refusal") or {}).get("off_library", 0)
        + (pm[m].get("refusal") or {}).get("in_library", 0)
    ]
    if ref_modes:
        rows = []
        for m in ref_modes:
            r = pm[m]["refusal"]
            rows.append(
                [
                    m,
                    f"{_pct(r['correct_refusal_rate'])} ({r['off_library_refused']}/{r['off_library']})",
                    f"{_pct(r['false_refusal_rate'])} ({r['in_library_refused']}/{r['in_library']})",
                    _pct(r.get("answered_accuracy")),
                    _pct(r.get("answered_hit_rate")),
                ]
            )
        tables.append(
            (
                "Refusals (questions tagged off-library or without gold source count as right only when refused)",
                [
                    "mode",
                    "off-library refused",
                    "in-library refused (false refusals)",
                    "accuracy on answered in-library",
                    "gold page retrieved on answered in-library",
                ],
                rows,
            )
        )
    ret_modes = [m for m in modes if pm[m].get("retrieval_n")]
    if ret_modes:
        ks = [1, 3, 5, 10]
        rows = []
        for m in ret_modes:
            d = pm[m]
            curve = d["hit_at_k"]
            rows.append(
                [m, str(d["retrieval_n"])]
                + [_pct(curve[k - 1]) if k <= len(curve) else "–" for k in ks]
                + [
                    _pct(d["hit_rate"]),
                    _pct(d["source_hit_rate"]),
                    _num(d["mrr"], "{:.3f}"),
                    f"{_num(d['latency_p50'], '{:.2f}')} / {_num(d['latency_p95'], '{:.2f}')}",
                ]
            )
        tables.append(
            (
                "Retrieval (gold document and page)",
                [
                    "mode",
                    "n",
                    *[f"hit@{k}" for k in ks],
                    "hit (all passages)",
                    "gold document anywhere",
                    "MRR",
                    "latency p50 / p95 (s)",
                ],
                rows,
            )
        )
    staged = [m for m in modes if pm[m].get("stage_gold")]
    for m in staged:
        rows = [
            [stage, str(d["questions_with_gold"]), str(d["added"]), str(d["removed"])]
            for stage, d in pm[m]["stage_gold"].items()
        ]
        tables.append(
            (
                f"{m}: gold passages per stage",
                [
                    "stage",
                    "questions with a gold passage after it",
                    "gold passages added",
                    "gold passages removed",
                ],
                rows,
            )
        )
    return tables


def _markdown(s: dict[str, Any], plots: dict[str, Path]) -> str:
    run = s.get("run", {})
    lines = [f"# Evaluation: {s['title']}", ""]
    lines.append(
        f"{s['questions']} questions; model `{run.get('model') or '–'}`; "
        f"style `{run.get('style') or '–'}`; {'retrieval only' if run.get('retrieval_only') else 'answers'}; "
        f"{run.get('documents', '?')} documents in the library; k = {run.get('k', '?')}."
    )
    lines.append("")
    for heading, header, rows in _tables(s):
        lines += [f"## {heading}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        lines.append("")
    lines.append(
        'Accuracy counts refusals as wrong; "accuracy when answered" leaves them out. '
        "CIs are percentile bootstrap (2,000 resamples)."
    )
    lines.append("")
    for name, path in plots.items():
        lines.append(f"![{name}]({path.relative_to(path.parent.parent).as_posix()})")
    return "\n".join(lines) + "\n"


def _html(s: dict[str, Any], plots: dict[str, Path]) -> str:
    esc = html.escape
    run = s.get("run", {})
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Evaluation: {esc(s['title'])}</title><style>",
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}img{max-width:100%}",
        "</style></head><body>",
        f"<h1>Evaluation: {esc(s['title'])}</h1>",
        f"<p>{s['questions']} questions; model <code>{esc(str(run.get('model') or '–'))}</code>; style "
        f"<code>{esc(str(run.get('style') or '–'))}</code>; "
        f"{'retrieval only' if run.get('retrieval_only') else 'answers'}; "
        f"{esc(str(run.get('documents', '?')))} documents; k = {esc(str(run.get('k', '?')))}.</p>",
    ]
    for heading, header, rows in _tables(s):
        parts.append(
            f"<h2>{esc(heading)}</h2><table><tr>"
            + "".join(f"<th>{esc(h)}</th>" for h in header)
            + "</tr>"
        )
        parts += ["<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows]
        parts.append("</table>")
    parts.append(
        "<p>Accuracy counts refusals as wrong; “accuracy when answered” leaves them out. "
        "CIs are percentile bootstrap (2,000 resamples).</p>"
    )
    for name, path in plots.items():
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        parts.append(
            f"<h2>{esc(name)}</h2><img alt='{esc(name)}' src='data:image/png;base64,{data}'>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)


# ---------------------------------------------------------------- plots
def _plots(out: Path, s: dict[str, Any]) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = out / "plots"
    folder.mkdir(exist_ok=True)
    pm, modes = s["per_mode"], s["modes"]
    made: dict[str, Path] = {}

    def save(fig: Any, name: str, title: str) -> None:
        path = folder / f"{name}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=90)
        plt.close(fig)
        made[title] = path

    if "majority" in s:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        acc = [100 * (pm[m].get("accuracy") or 0) for m in modes]
        ci = [pm[m].get("accuracy_ci") or [0, 0] for m in modes]
        err = [
            [a - 100 * c[0] for a, c in zip(acc, ci, strict=True)],
            [100 * c[1] - a for a, c in zip(acc, ci, strict=True)],
        ]
        ax.bar(modes, acc, yerr=err, capsize=6, color="#4c72b0")
        ax.axhline(
            100 * s["majority"]["accuracy"],
            color="#c44e52",
            ls="--",
            label=f"always {', '.join(s['majority']['answer'])} (majority)",
        )
        ax.set_ylabel("accuracy (%)")
        ax.set_ylim(0, 100)
        ax.legend(loc="upper right", fontsize=8)
        save(fig, "accuracy", "Accuracy per mode (95% bootstrap CI)")

        fig, ax = plt.subplots(figsize=(6, 3))
        ax.bar(modes, [100 * (pm[m].get("refusal_rate") or 0) for m in modes], color="#dd8452")
        ax.set_ylabel("refusals (%)")
        ax.set_ylim(0, 100)
        save(fig, "refusals", "Refusal rate per mode")

    records = load_results(out)
    lat = [[r.get("latency", 0.0) for r in records if r["mode"] == m] for m in modes]
    if any(lat):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.boxplot(lat, showfliers=True)
        ax.set_xticks(range(1, len(modes) + 1), modes)
        ax.set_ylabel("seconds per question")
        save(fig, "latency", "Latency per question")

    curves = {m: pm[m]["hit_at_k"] for m in modes if pm[m].get("hit_at_k")}
    if curves:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for m, curve in curves.items():
            ax.plot(range(1, len(curve) + 1), [100 * x for x in curve], marker="o", label=m)
        ax.set_xlabel("k (passages)")
        ax.set_ylabel("gold page within top k (%)")
        ax.set_ylim(0, 100)
        ax.legend(fontsize=8)
        save(fig, "hit_at_k", "Retrieval hit@k")
    return made
