//! Writing a split's tables: one Arrow IPC file per table of `enrelg_schemas::tables`,
//! with the split's summary counted on the way.

use super::*;

fn list_u32(name: &str, rows: Vec<Vec<u32>>) -> Column {
    let series: Vec<Series> = rows.into_iter().map(|r| Series::new(PlSmallStr::EMPTY, r)).collect();
    Series::new(name.into(), series).into_column()
}

fn write_ipc(path: &Path, columns: Vec<Column>) -> Result<String, ShardError> {
    let mut df = DataFrame::new_infer_height(columns).map_err(polars_err(path))?;
    let mut file = std::fs::File::create(path).map_err(io_err(path))?;
    IpcWriter::new(&mut file).finish(&mut df).map_err(polars_err(path))?;
    file.sync_all().map_err(io_err(path))?;
    Ok(crate::fs::sha256_file(path)?)
}

/// Write the tables of one split into the shard folder `root`; returns file checksums and the summary.
pub(super) fn write_split(
    root: &Path,
    split: &str,
    data: &[DocumentData],
    tags: &LabelSet,
    files: &mut BTreeMap<String, String>,
) -> Result<SplitSummary, ShardError> {
    let dir = root.join(split);
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let mut summary = SplitSummary { documents: data.len(), ..Default::default() };
    let docs_cols = documents_table(split, data);
    let token_cols = tokens_table(data, &mut summary);
    let [window_cols, edge_cols] = windows_tables(data, tags, &mut summary);
    let acronym_cols = acronyms_table(data, &mut summary);
    let doc_edge_cols = doc_edges_table(data, &mut summary);
    let entity_cols = entities_table(data);
    let relation_cols = relations_table(data, &mut summary);
    for (name, cols) in tables::ALL.into_iter().zip([
        docs_cols,
        token_cols,
        window_cols,
        edge_cols,
        acronym_cols,
        doc_edge_cols,
        entity_cols,
        relation_cols,
    ]) {
        let rel = tables::table_file(split, name);
        let sha = write_ipc(&root.join(&rel), cols)?;
        files.insert(rel, sha);
    }
    Ok(summary)
}

/// The `documents` table.
fn documents_table(split: &str, data: &[DocumentData]) -> Vec<Column> {
    vec![
        Column::new(
            documents::DOC_ID.into(),
            data.iter().map(|d| d.doc.id.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(documents::SPLIT.into(), vec![split; data.len()]),
        Column::new(
            documents::TEXT.into(),
            data.iter().map(|d| d.doc.text.as_str()).collect::<Vec<_>>(),
        ),
    ]
}

/// The `tokens` table.
fn tokens_table(data: &[DocumentData], summary: &mut SplitSummary) -> Vec<Column> {
    let mut t = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for d in data {
        for (i, tok) in d.doc.tokens.iter().enumerate() {
            t.0.push(d.doc.id.as_str());
            t.1.push(i as u32);
            t.2.push(d.sentence_of[i]);
            t.3.push(tok.form.as_str());
            t.4.push(d.lemmas[i].as_str());
            t.5.push(tok.upos.as_str());
            t.6.push(tok.deprel.as_str());
            t.7.push(tok.head.map(|h| h as u32));
            t.8.push(tok.start as u32);
            t.9.push(tok.end as u32);
            t.10.push(d.labels[i].as_str());
        }
    }
    summary.tokens = t.0.len();
    vec![
        Column::new(tokens::DOC_ID.into(), t.0),
        Column::new(tokens::IDX.into(), t.1),
        Column::new(tokens::SENTENCE.into(), t.2),
        Column::new(tokens::FORM.into(), t.3),
        Column::new(tokens::LEMMA.into(), t.4),
        Column::new(tokens::UPOS.into(), t.5),
        Column::new(tokens::DEPREL.into(), t.6),
        Column::new(tokens::HEAD.into(), t.7),
        Column::new(tokens::START.into(), t.8),
        Column::new(tokens::END.into(), t.9),
        Column::new(tokens::LABEL.into(), t.10),
    ]
}

/// The `windows` and `edges` tables.
fn windows_tables(
    data: &[DocumentData],
    tags: &LabelSet,
    summary: &mut SplitSummary,
) -> [Vec<Column>; 2] {
    let (mut w_id, mut w_doc, mut w_index, mut w_start, mut w_end) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut w_ids, mut w_first, mut w_labels, mut w_shapes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut e_win, mut e_graph, mut e_kind, mut e_src, mut e_dst) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut words = 0usize;
    for d in data {
        summary.alignment.merge(&d.align);
        summary.windowing.merge(&d.windowing);
        for (w, edges) in &d.windows {
            let id = w_id.len() as u32;
            w_id.push(id);
            w_doc.push(d.doc.id.as_str());
            w_index.push(w.index as u32);
            w_start.push(w.word_start as u32);
            w_end.push(w.word_end as u32);
            w_ids.push(w.input_ids.clone());
            w_first.push(w.word_first_subtoken.clone());
            // Labels were validated against the label set by alignment, so every tag is known.
            w_labels.push(
                d.labels[w.word_start..w.word_end]
                    .iter()
                    .map(|l| tags.tag_index(l).unwrap_or(0) as u32)
                    .collect::<Vec<u32>>(),
            );
            w_shapes.push(
                d.doc.tokens[w.word_start..w.word_end]
                    .iter()
                    .map(|t| crate::words::shape::shape(&t.form))
                    .collect::<Vec<u32>>(),
            );
            words += w.word_end - w.word_start;
            for e in edges {
                e_win.push(id);
                e_graph.push(e.kind.graph().name());
                e_kind.push(e.kind.name());
                e_src.push(e.src);
                e_dst.push(e.dst);
                *summary.edges.entry(e.kind.name().to_string()).or_default() += 1;
            }
        }
    }
    summary.windows = w_id.len();
    if summary.windows > 0 {
        summary.mean_words_per_window = round3(words as f64 / summary.windows as f64);
        summary.mean_subtokens_per_window =
            round3(summary.windowing.subtokens as f64 / summary.windows as f64);
    }
    let window_cols = vec![
        Column::new(windows::WINDOW_ID.into(), w_id),
        Column::new(windows::DOC_ID.into(), w_doc),
        Column::new(windows::WINDOW_INDEX.into(), w_index),
        Column::new(windows::WORD_START.into(), w_start),
        Column::new(windows::WORD_END.into(), w_end),
        list_u32(windows::INPUT_IDS, w_ids),
        list_u32(windows::WORD_FIRST_SUBTOKEN, w_first),
        list_u32(windows::LABELS, w_labels),
        list_u32(windows::WORD_SHAPES, w_shapes),
    ];
    let edge_cols = vec![
        Column::new(edges::WINDOW_ID.into(), e_win),
        Column::new(edges::GRAPH.into(), e_graph),
        Column::new(edges::KIND.into(), e_kind),
        Column::new(edges::SRC.into(), e_src),
        Column::new(edges::DST.into(), e_dst),
    ];
    [window_cols, edge_cols]
}

/// The `acronyms` table.
fn acronyms_table(data: &[DocumentData], summary: &mut SplitSummary) -> Vec<Column> {
    let acr: Vec<(&str, &Acronym, String)> = data
        .iter()
        .flat_map(|d| {
            d.acronyms.iter().map(move |a| {
                let long = d.doc.tokens[a.long_start..a.long_end]
                    .iter()
                    .map(|t| t.form.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                (d.doc.id.as_str(), a, long)
            })
        })
        .collect();
    summary.acronym_pairs = acr.len();
    vec![
        Column::new(acronyms::DOC_ID.into(), acr.iter().map(|a| a.0).collect::<Vec<_>>()),
        Column::new(
            acronyms::SHORT_FORM.into(),
            acr.iter().map(|a| a.1.short_form.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            acronyms::SHORT.into(),
            acr.iter().map(|a| a.1.short as u32).collect::<Vec<_>>(),
        ),
        Column::new(
            acronyms::LONG_START.into(),
            acr.iter().map(|a| a.1.long_start as u32).collect::<Vec<_>>(),
        ),
        Column::new(
            acronyms::LONG_END.into(),
            acr.iter().map(|a| a.1.long_end as u32).collect::<Vec<_>>(),
        ),
        Column::new(
            acronyms::LONG_FORM.into(),
            acr.iter().map(|a| a.2.as_str()).collect::<Vec<_>>(),
        ),
    ]
}

/// The `doc_edges` table.
fn doc_edges_table(data: &[DocumentData], summary: &mut SplitSummary) -> Vec<Column> {
    // Document edges by (window, position) of each end; a document's windows
    // are consecutive in `windows`, in order.
    let (mut d_doc, mut d_src_win, mut d_src, mut d_dst_win, mut d_dst, mut d_kind) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut first_window = 0u32;
    for d in data {
        let starts: Vec<usize> = d.windows.iter().map(|(w, _)| w.word_start).collect();
        for e in &d.doc_edges {
            let [(sw, sp), (dw, dp)] = e.ends(&starts);
            d_doc.push(d.doc.id.as_str());
            d_src_win.push(first_window + sw as u32);
            d_src.push(sp);
            d_dst_win.push(first_window + dw as u32);
            d_dst.push(dp);
            d_kind.push(e.kind.name());
            *summary.doc_edges.entry(e.kind.name().to_string()).or_default() += 1;
        }
        first_window += d.windows.len() as u32;
    }
    vec![
        Column::new(doc_edges::DOC_ID.into(), d_doc),
        Column::new(doc_edges::SRC_WINDOW.into(), d_src_win),
        Column::new(doc_edges::SRC.into(), d_src),
        Column::new(doc_edges::DST_WINDOW.into(), d_dst_win),
        Column::new(doc_edges::DST.into(), d_dst),
        Column::new(doc_edges::KIND.into(), d_kind),
    ]
}

/// The `entities` table: every text-bound annotation with its words.
fn entities_table(data: &[DocumentData]) -> Vec<Column> {
    let (mut doc, mut id, mut ty, mut start, mut end) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut w_start, mut w_end, mut sentence) = (Vec::new(), Vec::new(), Vec::new());
    for d in data {
        for (e, w) in d.doc.entities.iter().zip(&d.entity_words) {
            let (s, t) = e.cover();
            doc.push(d.doc.id.as_str());
            id.push(e.id.as_str());
            ty.push(e.ty.as_str());
            start.push(s as u32);
            end.push(t as u32);
            w_start.push(w.words.map(|(a, _)| a as u32));
            w_end.push(w.words.map(|(_, b)| b as u32));
            sentence.push(w.sentence);
        }
    }
    vec![
        Column::new(entities::DOC_ID.into(), doc),
        Column::new(entities::ENTITY_ID.into(), id),
        Column::new(entities::TYPE.into(), ty),
        Column::new(entities::START.into(), start),
        Column::new(entities::END.into(), end),
        Column::new(entities::WORD_START.into(), w_start),
        Column::new(entities::WORD_END.into(), w_end),
        Column::new(entities::SENTENCE.into(), sentence),
    ]
}

/// The `relations` table: one row per head–tail pair ([`crate::relation`]).
fn relations_table(data: &[DocumentData], summary: &mut SplitSummary) -> Vec<Column> {
    let (mut doc, mut id, mut ty, mut role) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut head, mut tail, mut head_s, mut tail_s) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for d in data {
        summary.relations.merge(&d.relation_report);
        for p in &d.pairs {
            doc.push(d.doc.id.as_str());
            id.push(p.id.as_str());
            ty.push(p.ty.as_str());
            role.push(p.role.as_str());
            head.push(d.doc.entities[p.head].id.as_str());
            tail.push(d.doc.entities[p.tail].id.as_str());
            head_s.push(d.entity_words[p.head].sentence);
            tail_s.push(d.entity_words[p.tail].sentence);
        }
    }
    vec![
        Column::new(relations::DOC_ID.into(), doc),
        Column::new(relations::RELATION_ID.into(), id),
        Column::new(relations::TYPE.into(), ty),
        Column::new(relations::ROLE.into(), role),
        Column::new(relations::HEAD.into(), head),
        Column::new(relations::TAIL.into(), tail),
        Column::new(relations::HEAD_SENTENCE.into(), head_s),
        Column::new(relations::TAIL_SENTENCE.into(), tail_s),
    ]
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
