//! Document context for the encoder (`--context N`): each window is encoded
//! together with up to N subtokens of its document before it and N after it,
//! as FLERT (Schweter & Akbik 2020) and the BERT paper's "maximal document
//! context" do; only the window's own positions are pooled into its words, so
//! the words, graphs, labels and scoring stay those of the window.
//!
//! A window's input is `[CLS] own subtokens [SEP]` (the pipeline's windows
//! tile a document without overlap); with context it becomes
//! `[CLS] left own right [SEP]`, its words' first subtokens move right by the
//! left context's length, and [`super::WindowRecord::right_context`] says
//! where its own subtokens end (the last word's span in mean pooling).

use super::WindowRecord;

/// Add up to `n` subtokens of document context on each side of every window.
/// `records` hold whole documents, each document's windows consecutive and in
/// order (as shards and [`crate::tag`] list them). `n` = 0 changes nothing.
pub fn add_context(records: &mut [WindowRecord], n: usize) {
    if n == 0 {
        return;
    }
    let mut start = 0;
    while start < records.len() {
        let doc = &records[start].doc_id;
        let end = start + records[start..].iter().take_while(|r| &r.doc_id == doc).count();
        widen_document(&mut records[start..end], n);
        start = end;
    }
}

/// One document's windows: the context comes from its windows' own subtokens,
/// laid end to end once (linear in the document's length).
fn widen_document(windows: &mut [WindowRecord], n: usize) {
    let own: Vec<Vec<u32>> = windows.iter().map(|r| own_subtokens(r).to_vec()).collect();
    let document: Vec<u32> = own.iter().flatten().copied().collect();
    let mut start = 0;
    for (record, own) in windows.iter_mut().zip(&own) {
        let end = start + own.len();
        let left = &document[start.saturating_sub(n)..start];
        let right = &document[end..(end + n).min(document.len())];
        let (cls, sep) = (record.input_ids[0], record.input_ids[record.input_ids.len() - 1]);
        let mut ids = Vec::with_capacity(own.len() + left.len() + right.len() + 2);
        ids.push(cls);
        ids.extend_from_slice(left);
        ids.extend_from_slice(own);
        ids.extend_from_slice(right);
        ids.push(sep);
        record.input_ids = ids;
        record.word_first_subtoken.iter_mut().for_each(|f| *f += left.len() as u32);
        record.right_context = right.len() as u32;
        start = end;
    }
}

/// A window's own subtokens, between its [CLS] and [SEP].
fn own_subtokens(record: &WindowRecord) -> &[u32] {
    debug_assert_eq!(record.right_context, 0, "context is added once");
    let ids = &record.input_ids;
    ids.get(1..ids.len().saturating_sub(1)).unwrap_or(&[])
}

/// Check that every window fits the encoder's `positions` with its context.
pub fn check_fits(records: &[WindowRecord], n: usize, positions: usize) -> anyhow::Result<()> {
    let longest = records.iter().map(|r| r.input_ids.len()).max().unwrap_or(0);
    anyhow::ensure!(
        longest <= positions,
        "context {n}: a window with its context is {longest} subtokens, more than the encoder's {positions} positions; choose a smaller context"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::pad;

    /// Three windows of one document and one of another, ids 1000 + k.
    fn documents() -> Vec<WindowRecord> {
        let mut out = Vec::new();
        for (doc, sizes) in [("a", &[3usize, 2, 4][..]), ("b", &[2][..])] {
            let mut next = 0u32;
            for (w, &n) in sizes.iter().enumerate() {
                let words: Vec<String> = (0..n).map(|i| format!("{doc}{w}{i}")).collect();
                let refs: Vec<&str> = words.iter().map(String::as_str).collect();
                let mut r = WindowRecord::for_test(&refs);
                r.doc_id = doc.into();
                r.window_id = out.len() as u32;
                r.input_ids = std::iter::once(101)
                    .chain((0..n as u32).map(|i| 1000 + next + i))
                    .chain(std::iter::once(102))
                    .collect();
                next += n as u32;
                out.push(r);
            }
        }
        out
    }

    #[test]
    fn each_window_sees_its_neighbours_subtokens_and_keeps_its_own_words() {
        let mut records = documents();
        add_context(&mut records, 2);
        // Document a's own subtokens: 1000..1009 over windows of 3, 2 and 4.
        assert_eq!(records[0].input_ids, vec![101, 1000, 1001, 1002, 1003, 1004, 102]);
        assert_eq!(records[0].word_first_subtoken, vec![1, 2, 3]);
        assert_eq!(records[0].right_context, 2);
        assert_eq!(records[1].input_ids, vec![101, 1001, 1002, 1003, 1004, 1005, 1006, 102]);
        assert_eq!(records[1].word_first_subtoken, vec![3, 4]);
        assert_eq!(records[2].input_ids, vec![101, 1003, 1004, 1005, 1006, 1007, 1008, 102]);
        assert_eq!((records[2].word_first_subtoken[0], records[2].right_context), (3, 0));
        // Another document's windows are never context.
        assert_eq!(records[3].input_ids, vec![101, 1000, 1001, 102]);
        // The last word's mean runs to its window's end, not into the context.
        let p = pad(&[&records[0]]);
        let t = p.dims[1];
        let last = &p.mean[2 * t..3 * t];
        assert_eq!(last.iter().filter(|&&v| v > 0.0).count(), 1, "{last:?}");
    }

    #[test]
    fn no_context_changes_nothing_and_a_wide_context_takes_the_whole_document() {
        let (mut none, before) = (documents(), documents());
        add_context(&mut none, 0);
        assert!(none
            .iter()
            .zip(&before)
            .all(|(a, b)| a.input_ids == b.input_ids
                && a.word_first_subtoken == b.word_first_subtoken));
        let mut wide = documents();
        add_context(&mut wide, 100);
        for r in &wide[..3] {
            assert_eq!(r.input_ids[1..r.input_ids.len() - 1], (1000..1009).collect::<Vec<_>>()[..]);
        }
        assert!(check_fits(&wide, 100, 11).is_ok());
        let error = check_fits(&wide, 100, 10).unwrap_err().to_string();
        assert!(error.contains("11 subtokens, more than the encoder's 10 positions"), "{error}");
    }
}
