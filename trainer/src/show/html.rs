//! The HTML of `enrelg show`: self-contained pages (inline CSS, a few lines
//! of inline JavaScript for the toggles, SVG for the arcs), no network.
//!
//! Every drawn thing carries its source in data attributes, so that tests
//! can check the pages against the shards: a text highlight `data-s`/`data-e`
//! (character offsets into the document), an arc `data-w` (window id),
//! `data-s`/`data-d` (positions in the window) and its kind as a class.

use std::collections::BTreeSet;
use std::fmt::Write;

use enrelg_pipeline::graph::EdgeKind;
use enrelg_pipeline::words::shape::{shape, SHAPE_NAMES};
use enrelg_schemas::Graph;

use super::{ErrorSummary, Mention, Outcome, ShowDoc, ShowWindow};

/// Width of one character of the window drawings (monospace; `textLength`
/// makes the browser honour it whatever font it picks).
const CW: f64 = 7.8;
/// Room above the words for the coreference arcs and below for the dependency arcs.
const MAX_ARC: f64 = 70.0;

/// Escape text for HTML and XML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A file name for a document id (letters, digits, `-`, `_`, `.`).
pub fn page_name(id: &str) -> String {
    let safe: String =
        id.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
    format!("{safe}.html")
}

/// The entity types of a split, in a fixed order: each gets a colour class `tN`.
pub struct Palette {
    types: Vec<String>,
}

const COLOURS: [&str; 8] =
    ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#e15759"];

impl Palette {
    pub fn new<'a>(types: impl IntoIterator<Item = &'a str>) -> Self {
        let set: BTreeSet<&str> = types.into_iter().collect();
        Self { types: set.into_iter().map(str::to_string).collect() }
    }

    fn class(&self, ty: &str) -> String {
        format!("t{}", self.types.iter().position(|t| t == ty).unwrap_or(self.types.len()))
    }

    fn css(&self) -> String {
        let mut css = String::new();
        for (i, _) in self.types.iter().enumerate() {
            let c = COLOURS[i % COLOURS.len()];
            let _ =
                write!(css, "mark.t{i}{{background:{c}33;border-color:{c}}}rect.t{i}{{fill:{c}}}");
        }
        css
    }

    fn legend(&self) -> String {
        self.types
            .iter()
            .map(|t| format!("<mark class=\"{}\">{}</mark> ", self.class(t), escape(t)))
            .collect()
    }
}

const STYLE: &str = "body{font:14px/1.5 system-ui,sans-serif;margin:1em 2em;color:#222}\
a{color:#1a5fb4}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}\
th{background:#f3f3f3}td.n{text-align:right}.cols{display:flex;gap:2em}.cols>div{flex:1;min-width:0}\
.text{white-space:pre-wrap;border:1px solid #ddd;padding:.5em;background:#fcfcfc}\
mark{border-bottom:2px solid;padding:0 1px;color:inherit;background:none}mark.fn{outline:2px solid #d00}mark.fp{outline:2px dashed #d00}\
mark.wt{outline:2px solid #a0a}mark.ws{outline:2px dotted #a0a}\
.scroll{overflow-x:auto;border:1px solid #eee;margin-bottom:1em}svg text{font:13px 'DejaVu Sans Mono',monospace}\
path.c{stroke:#1a5fb4;fill:none}path.d{stroke:#888;fill:none}path.exact{stroke-width:1.5}path.lemma{stroke-dasharray:4 2}\
path.acronym{stroke:#c64600}path.de{stroke:#0a0;stroke-width:3}rect.fn,rect.fp,rect.wt,rect.ws{stroke:#d00;stroke-width:1.5}\
body.hc .c,body.hd .d,body.hde .de{display:none}.key span{margin-right:1em}\
#tip{position:absolute;display:none;background:#ffe;border:1px solid #999;padding:2px 6px;font-size:13px;pointer-events:none;max-width:40em}";

/// Toggles, and the hover box of words and document-edge ticks; `W` (one
/// entry per word of the document: lemma, UPOS, relation, shape, acronym,
/// gold tag, predicted tag) is written by [`document_page`].
const SCRIPT: &str = "for(const b of document.querySelectorAll('input[data-hide]'))\
b.addEventListener('change',e=>document.body.classList.toggle(e.target.dataset.hide,!e.target.checked));\
const tip=document.getElementById('tip');\
const form=i=>document.querySelector('text[data-i=\"'+i+'\"]')?.textContent??'word '+i;\
if(tip)document.addEventListener('mouseover',e=>{const d=e.target.dataset||{};let t='';\
if(d.i!==undefined){const w=W[d.i];t=e.target.textContent+' · lemma '+w[0]+' · '+w[1]+' · '+w[2]+' · shape '+w[3]+(w[4]?' · '+w[4]:'')+' · gold '+w[5]+(w[6]?' · predicted '+w[6]:'');}\
else if(d.o!==undefined){t='document-level coreference with: '+d.o.split(' ').map(x=>{const[i,k]=x.split(':');return form(i)+' (word '+i+', '+k+')';}).join(', ');}\
if(!t){tip.style.display='none';return;}tip.textContent=t;tip.style.display='block';tip.style.left=(e.pageX+12)+'px';tip.style.top=(e.pageY+14)+'px';});";

fn page(title: &str, body: &str, palette: &Palette) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}{}</style></head>\n<body>\n{body}\n<div id=\"tip\"></div><script>{SCRIPT}</script>\n</body></html>\n",
        escape(title),
        palette.css()
    )
}

/// The text of a document with `mentions` highlighted (`side` "gold" or "pred").
fn highlighted(doc: &ShowDoc, mentions: &[Mention], palette: &Palette) -> String {
    let chars: Vec<char> = doc.text.chars().collect();
    let mut spans: Vec<(usize, usize, &Mention)> =
        mentions.iter().map(|m| (doc.char_span(m).0, doc.char_span(m).1, m)).collect();
    spans.sort_by_key(|s| (s.0, s.1));
    let mut out = String::new();
    let mut at = 0;
    for (s, e, m) in spans {
        if s < at || e > chars.len() {
            continue; // never happens for BIO chunks; keeps the slicing safe
        }
        out += &escape(&chars[at..s].iter().collect::<String>());
        let outcome = m.outcome.map_or(String::new(), |o| format!(" {}", o.class()));
        let title = match m.outcome {
            Some(o) => format!("{}: {}", m.ty, o.name()),
            None => m.ty.clone(),
        };
        let _ = write!(
            out,
            "<mark class=\"{}{outcome}\" data-s=\"{s}\" data-e=\"{e}\" title=\"{}\">{}</mark>",
            palette.class(&m.ty),
            escape(&title),
            escape(&chars[s..e].iter().collect::<String>())
        );
        at = e;
    }
    out += &escape(&chars[at..].iter().collect::<String>());
    out
}

/// An arc from word centre `x1` to `x2`, bulging up (`dir` -1) or down (1) from `y`.
fn arc_path(x1: f64, x2: f64, y: f64, dir: f64) -> (String, f64) {
    let h = (10.0 + 12.0 * ((x2 - x1).abs() / (8.0 * CW)).sqrt()).min(MAX_ARC);
    (
        format!(
            "M{x1:.0} {y:.0}C{x1:.0} {:.0} {x2:.0} {:.0} {x2:.0} {y:.0}",
            y + dir * h,
            y + dir * h
        ),
        h,
    )
}

/// One window as an SVG: coreference arcs above the words, gold and
/// predicted bars under them, dependency arcs below, document-edge ends as
/// green ticks.
fn window_svg(
    doc: &ShowDoc,
    w: &ShowWindow,
    gold: &[Mention],
    pred: &[Mention],
    palette: &Palette,
) -> String {
    let words = &doc.words[w.word_start..w.word_end];
    let mut x = Vec::with_capacity(words.len());
    let mut cursor = CW;
    for word in words {
        let width = word.form.chars().count().max(1) as f64 * CW;
        x.push((cursor, width));
        cursor += width + CW;
    }
    let centre = |pos: u32| x.get(pos as usize).map(|&(x0, wd)| x0 + wd / 2.0);
    let top = MAX_ARC + 8.0;
    let (text_y, gold_y, pred_y, dep_y) = (top + 12.0, top + 17.0, top + 23.0, top + 30.0);
    let mut body = String::new();
    let mut arcs: Vec<_> = w.arcs.clone();
    arcs.sort();
    for a in &arcs {
        let (Some(x1), Some(x2)) = (centre(a.src), centre(a.dst)) else {
            continue;
        };
        let (y, dir) = match a.kind.graph() {
            Graph::Coref => (top, -1.0),
            Graph::Dep => (dep_y, 1.0),
        };
        let graph = arc_class(a.kind);
        let (d, _) = arc_path(x1.min(x2), x1.max(x2), y, dir);
        let _ = write!(
            body,
            "<path class=\"{graph} {}\" data-w=\"{}\" data-s=\"{}\" data-d=\"{}\" d=\"{d}\"/>",
            a.kind.name(),
            w.id,
            a.src,
            a.dst
        );
    }
    // One tick per word with document edges; its other ends (document word
    // index and kind) in `data-o`, shown on hover.
    let mut ends: std::collections::BTreeMap<u32, Vec<String>> = std::collections::BTreeMap::new();
    for e in &w.doc_edges {
        if let Some(other) = doc.windows.iter().find(|o| o.id == e.other_window) {
            ends.entry(e.pos).or_default().push(format!(
                "{}:{}",
                other.word_start + e.other_pos as usize,
                e.kind
            ));
        }
    }
    for (pos, others) in ends {
        let Some(xc) = centre(pos) else { continue };
        let _ = write!(body, "<path class=\"de\" data-w=\"{}\" data-s=\"{pos}\" data-o=\"{}\" d=\"M{xc:.0} {:.0}v-8\"/>", w.id, others.join(" "), top - 1.0);
    }
    for (side, mentions, y) in [("g", gold, gold_y), ("p", pred, pred_y)] {
        for m in mentions.iter().filter(|m| m.start < w.word_end && m.end > w.word_start) {
            let (s, e) =
                (m.start.max(w.word_start) - w.word_start, m.end.min(w.word_end) - w.word_start);
            let (x0, x1) = (x[s].0, x[e - 1].0 + x[e - 1].1);
            let outcome = m.outcome.map_or(String::new(), |o| format!(" {}", o.class()));
            let label = if side == "g" { "gold" } else { "predicted" };
            let what = m.outcome.map_or(String::new(), |o| format!(": {}", o.name()));
            let _ = write!(
                body,
                "<rect class=\"{side} {}{outcome}\" x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"4\"><title>{label} {}{what}</title></rect>",
                palette.class(&m.ty),
                x1 - x0,
                escape(&m.ty)
            );
        }
    }
    for (k, (word, &(x0, width))) in words.iter().zip(&x).enumerate() {
        let _ = write!(body, "<text x=\"{x0:.0}\" y=\"{text_y:.0}\" textLength=\"{width:.0}\" data-i=\"{}\">{}</text>", w.word_start + k, escape(&word.form));
    }
    format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{cursor:.0}\" height=\"{:.0}\" data-w=\"{}\">{body}</svg>", dep_y + MAX_ARC + 4.0, w.id)
}

/// The hover data of each word: lemma, UPOS, relation, shape, acronym, gold, predicted.
fn word_table(doc: &ShowDoc) -> String {
    let rows: Vec<[String; 7]> = doc
        .words
        .iter()
        .map(|w| {
            [
                w.lemma.clone(),
                w.upos.clone(),
                w.deprel.clone(),
                SHAPE_NAMES[shape(&w.form) as usize].to_string(),
                w.acronym.clone().unwrap_or_default(),
                w.gold.clone(),
                w.pred.clone().unwrap_or_default(),
            ]
        })
        .collect();
    serde_json::to_string(&rows).unwrap_or_else(|_| "[]".into())
}

fn count(mentions: &[Mention], o: Outcome) -> usize {
    mentions.iter().filter(|m| m.outcome == Some(o)).count()
}

/// Errors of a document: gold mentions not found plus predictions not in the gold.
pub fn errors(gold: &[Mention], pred: &[Mention]) -> usize {
    gold.iter().chain(pred).filter(|m| m.outcome.is_some_and(|o| o != Outcome::Correct)).count()
}

/// One document's page.
pub fn document_page(
    doc: &ShowDoc,
    gold: &[Mention],
    pred: &[Mention],
    nav: (Option<&str>, Option<&str>),
    palette: &Palette,
    run: Option<&str>,
) -> String {
    let mut b = String::new();
    let link = |id: Option<&str>, label: &str| {
        id.map_or(String::new(), |id| format!(" · <a href=\"{}\">{label}</a>", page_name(id)))
    };
    let _ = write!(
        b,
        "<nav><a href=\"index.html\">index</a>{}{}</nav>\n<h1>{}</h1>\n",
        link(nav.0, "previous"),
        link(nav.1, "next"),
        escape(&doc.id)
    );
    let _ = write!(
        b,
        "<p>{} words, {} windows, {} gold mentions",
        doc.words.len(),
        doc.windows.len(),
        gold.len()
    );
    if let Some(run) = run {
        let _ = write!(
            b,
            "; {} predicted by <code>{}</code>: {} correct, {} missed, {} spurious, {} wrong type, {} wrong span (gold side)",
            pred.len(),
            escape(run),
            count(pred, Outcome::Correct),
            count(gold, Outcome::Missed),
            count(pred, Outcome::Spurious),
            count(gold, Outcome::WrongType),
            count(gold, Outcome::WrongSpan)
        );
    }
    b += "</p>\n<p class=\"key\">";
    b += &palette.legend();
    b += "<span><mark class=\"fn\">red outline</mark> missed (gold) / spurious (predicted, dashed)</span><span>purple: wrong type (solid) / wrong span (dotted)</span></p>\n";
    b += "<p><label><input type=\"checkbox\" data-hide=\"hc\" checked> coreference arcs</label> <label><input type=\"checkbox\" data-hide=\"hd\" checked> dependency arcs</label> <label><input type=\"checkbox\" data-hide=\"hde\" checked> document edges</label></p>\n";
    b += "<div class=\"cols\"><div><h2>gold</h2><div class=\"text\" id=\"gold\">";
    b += &highlighted(doc, gold, palette);
    b += "</div></div>";
    if run.is_some() {
        b += "<div><h2>predicted</h2><div class=\"text\" id=\"pred\">";
        b += &highlighted(doc, pred, palette);
        b += "</div></div>";
    }
    b += "</div>\n<h2>Windows and graphs</h2>\n<p>Blue arcs above the words: coreference (solid exact, dashed lemma, orange acronym); grey arcs below: dependency; green ticks: ends of document-level coreference edges (hover for the other end). Bars: gold, then predicted. Hover a word for its lemma, UPOS, relation, shape, acronym and tags, a green tick for the other ends of its document edges.</p>\n";
    for w in &doc.windows {
        let _ = write!(
            b,
            "<h3 id=\"w{}\">window {} (words {}-{})</h3><div class=\"scroll\">",
            w.index, w.index, w.word_start, w.word_end
        );
        b += &window_svg(doc, w, gold, pred, palette);
        b += "</div>\n";
    }
    b += "<script>const W=";
    b += &word_table(doc).replace("</", "<\\/");
    b += ";</script>";
    page(&format!("{} · enrelg show", doc.id), &b, palette)
}

/// One row of the index.
pub struct IndexRow<'a> {
    pub id: &'a str,
    pub words: usize,
    pub gold: usize,
    pub pred: usize,
    pub correct: usize,
    pub errors: usize,
}

fn prf(correct: usize, gold: usize, pred: usize) -> (f64, f64, f64) {
    let p = if pred == 0 { 0.0 } else { 100.0 * correct as f64 / pred as f64 };
    let r = if gold == 0 { 0.0 } else { 100.0 * correct as f64 / gold as f64 };
    let f = if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) };
    (p, r, f)
}

fn top_table(
    title: &str,
    counts: &std::collections::BTreeMap<(String, String), usize>,
    limit: usize,
) -> String {
    let mut rows: Vec<_> = counts.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut t =
        format!("<div><h3>{title}</h3><table><tr><th>string</th><th>type</th><th>count</th></tr>");
    for ((s, ty), n) in rows.into_iter().take(limit) {
        let _ = write!(
            t,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{n}</td></tr>",
            escape(s),
            escape(ty)
        );
    }
    t + "</table></div>"
}

/// The index: documents by error count (by mentions without a run), and the error analysis.
pub fn index_page(
    title: &str,
    rows: &mut [IndexRow],
    summary: Option<&ErrorSummary>,
    palette: &Palette,
) -> String {
    rows.sort_by(|a, b| b.errors.cmp(&a.errors).then(b.gold.cmp(&a.gold)).then(a.id.cmp(b.id)));
    let mut b = format!("<h1>{}</h1>\n", escape(title));
    let (g, p, c) =
        rows.iter().fold((0, 0, 0), |acc, r| (acc.0 + r.gold, acc.1 + r.pred, acc.2 + r.correct));
    if let Some(s) = summary {
        let (pp, rr, ff) = prf(c, g, p);
        let _ = writeln!(
            b,
            "<p>{} documents; {g} gold mentions, {p} predicted, {c} correct: precision {pp:.2}, recall {rr:.2}, F1 {ff:.2} (BIO chunks per sentence, the scored types)</p>",
            rows.len()
        );
        b += "<h2>Error analysis</h2>\n<div class=\"cols\">";
        b += &top_table("Most frequent misses (gold not found exactly)", &s.false_negatives, 20);
        b += &top_table("Most frequent false alarms (predicted, not gold)", &s.false_positives, 20);
        b += "</div>\n<div class=\"cols\"><div><h3>Repeated mentions</h3><table><tr><th>gold mentions whose string occurs</th><th>gold</th><th>found</th><th>recall</th></tr>";
        for (label, (gold, found)) in
            ["once in the document", "again in the document"].iter().zip(s.repeated)
        {
            let _ = write!(b, "<tr><td>{label}</td><td class=\"n\">{gold}</td><td class=\"n\">{found}</td><td class=\"n\">{:.1}</td></tr>", prf(found, gold, found).1);
        }
        b += "</table></div><div><h3>By length in words</h3><table><tr><th>words</th><th>gold</th><th>found</th><th>recall</th><th>predicted</th><th>correct</th><th>precision</th></tr>";
        for (label, (gold, found, pred, correct)) in ["1", "2", "3", "4+"].iter().zip(s.by_length) {
            let _ = write!(
                b,
                "<tr><td>{label}</td><td class=\"n\">{gold}</td><td class=\"n\">{found}</td><td class=\"n\">{:.1}</td><td class=\"n\">{pred}</td><td class=\"n\">{correct}</td><td class=\"n\">{:.1}</td></tr>",
                prf(found, gold, found).1,
                prf(correct, correct, pred).0
            );
        }
        b += "</table></div></div>\n";
    } else {
        let _ = writeln!(
            b,
            "<p>{} documents, {g} gold mentions (no run given: gold only)</p>",
            rows.len()
        );
    }
    b += "<p class=\"key\">";
    b += &palette.legend();
    b += "</p>\n<h2>Documents</h2>\n<table><tr><th>document</th><th>words</th><th>gold</th><th>predicted</th><th>correct</th><th>errors</th></tr>";
    for r in rows.iter() {
        let _ = write!(
            b,
            "<tr><td><a href=\"{}\">{}</a></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            page_name(r.id),
            escape(r.id),
            r.words,
            r.gold,
            r.pred,
            r.correct,
            r.errors
        );
    }
    b += "</table>";
    page(title, &b, palette)
}

/// The CSS class of an edge kind's graph: `c` coreference, `d` dependency.
pub fn arc_class(kind: EdgeKind) -> &'static str {
    match kind.graph() {
        Graph::Coref => "c",
        Graph::Dep => "d",
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Arc, Word};
    use super::*;

    fn doc() -> ShowDoc {
        let text = "Schröder & <Gale> saw Fe in Gale.".to_string();
        let spans = [
            ("Schröder", 0),
            ("&", 9),
            ("<Gale>", 11),
            ("saw", 18),
            ("Fe", 22),
            ("in", 25),
            ("Gale", 28),
            (".", 32),
        ];
        let gold = ["B-Target", "O", "B-Target", "O", "B-Element", "O", "B-Target", "O"];
        let pred = ["B-Target", "O", "O", "O", "B-Mineral", "O", "B-Target", "B-Element"];
        let words = spans
            .iter()
            .zip(gold.iter().zip(pred))
            .map(|(&(f, s), (&g, p))| Word {
                form: f.into(),
                start: s,
                end: s + f.chars().count(),
                gold: g.into(),
                pred: Some(p.into()),
                ..Default::default()
            })
            .collect();
        let windows = vec![ShowWindow {
            id: 7,
            index: 0,
            word_start: 0,
            word_end: 8,
            arcs: vec![
                Arc { kind: EdgeKind::Exact, src: 2, dst: 6 },
                Arc { kind: EdgeKind::KeyHead, src: 3, dst: 4 },
            ],
            doc_edges: Vec::new(),
        }];
        ShowDoc { id: "a/b 1".into(), text, words, windows }
    }

    /// (attributes, inner text) of each `<TAG ...>inner</TAG>`.
    fn elements<'a>(html: &'a str, tag: &str) -> Vec<(&'a str, &'a str)> {
        let open = format!("<{tag} ");
        html.split(&open)
            .skip(1)
            .map(|rest| {
                let (attrs, after) = rest.split_once('>').unwrap();
                (attrs, after.split(&format!("</{tag}>")).next().unwrap_or(""))
            })
            .collect()
    }

    fn attr<'a>(attrs: &'a str, name: &str) -> &'a str {
        attrs
            .split(&format!(" {name}=\""))
            .nth(1)
            .or_else(|| attrs.strip_prefix(&format!("{name}=\"")))
            .unwrap()
            .split('"')
            .next()
            .unwrap()
    }

    fn unescape(s: &str) -> String {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }

    #[test]
    fn every_highlight_is_the_text_at_its_offsets() {
        let d = doc();
        let (gold, pred) = d.mentions(None);
        let palette = Palette::new(["Target", "Element", "Mineral"]);
        let html = document_page(&d, &gold, &pred, (None, None), &palette, Some("runs/x"));
        let marks = elements(&html, "mark");
        let highlights: Vec<_> = marks.iter().filter(|(a, _)| a.contains("data-s=")).collect();
        assert_eq!(highlights.len(), gold.len() + pred.len());
        let chars: Vec<char> = d.text.chars().collect();
        for (attrs, inner) in highlights {
            let (s, e): (usize, usize) =
                (attr(attrs, "data-s").parse().unwrap(), attr(attrs, "data-e").parse().unwrap());
            assert_eq!(unescape(inner), chars[s..e].iter().collect::<String>());
        }
        assert!(html.contains("&lt;Gale&gt;</mark>"), "markup in the text is escaped");
        let missed: Vec<_> = elements(&html, "mark")
            .into_iter()
            .filter(|(a, _)| a.contains(" fn\""))
            .map(|(_, t)| unescape(t))
            .collect();
        assert_eq!(missed, vec!["<Gale>"]);
        assert_eq!(page_name(&d.id), "a_b_1.html");
    }

    #[test]
    fn arcs_are_the_window_edges() {
        let d = doc();
        let (gold, pred) = d.mentions(None);
        let html = document_page(&d, &gold, &pred, (None, None), &Palette::new(["Target"]), None);
        let arcs: Vec<(String, u32, u32)> = html
            .split("<path ")
            .skip(1)
            .map(|r| r.split("/>").next().unwrap())
            .map(|a| {
                (
                    attr(a, "class").to_string(),
                    attr(a, "data-s").parse().unwrap(),
                    attr(a, "data-d").parse().unwrap(),
                )
            })
            .collect();
        assert_eq!(arcs, vec![("c exact".to_string(), 2, 6), ("d key_head".to_string(), 3, 4)]);
        assert_eq!(arc_class(EdgeKind::Lemma), "c");
    }
}
