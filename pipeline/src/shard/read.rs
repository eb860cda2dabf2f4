//! Reading a shard folder's tables back, each checked against its manifest.

use super::*;

/// Read one table of a split as a polars DataFrame, after checking the
/// manifest's format version and the file's SHA-256 against the manifest (a
/// truncated, edited or foreign file is an error, never a panic later).
pub fn read_table(dir: &Path, split: &str, table: &str) -> Result<DataFrame, ShardError> {
    let manifest = ShardManifest::read(dir)?;
    let rel = tables::table_file(split, table);
    let path = dir.join(&rel);
    let expected = manifest.files.get(&rel).ok_or_else(|| ShardError::Manifest {
        path: dir.join(tables::MANIFEST),
        message: format!("lists no file {rel} (splits: {})", manifest.splits.join(", ")),
    })?;
    let bytes = std::fs::read(&path).map_err(io_err(&path))?;
    let found = crate::fs::sha256_hex(&bytes);
    if &found != expected {
        return Err(ShardError::Checksum { path, expected: expected.clone(), found });
    }
    IpcReader::new(std::io::Cursor::new(bytes)).finish().map_err(polars_err(&path))
}

/// The shard column readers: a table's column as plain values, for every reader of shards.
fn column_err(column: &str) -> impl FnOnce(PolarsError) -> ShardError + '_ {
    move |e| ShardError::Column { column: column.into(), message: e.to_string() }
}

/// A `u32` column without nulls.
pub fn u32s(df: &DataFrame, column: &str) -> Result<Vec<u32>, ShardError> {
    let col = df.column(column).and_then(|c| c.u32()).map_err(column_err(column))?;
    if col.null_count() != 0 {
        return Err(ShardError::Column { column: column.into(), message: "holds nulls".into() });
    }
    Ok(col.into_no_null_iter().collect())
}

/// A `u32` column whose nulls mean "none" (an entity without words).
pub fn optional_u32s(df: &DataFrame, column: &str) -> Result<Vec<Option<u32>>, ShardError> {
    let col = df.column(column).and_then(|c| c.u32()).map_err(column_err(column))?;
    Ok(col.iter().collect())
}

/// A string column; a null reads as the empty string.
pub fn strings(df: &DataFrame, column: &str) -> Result<Vec<String>, ShardError> {
    let col = df.column(column).and_then(|c| c.str()).map_err(column_err(column))?;
    Ok(col.iter().map(|s| s.unwrap_or("").to_string()).collect())
}

/// Row `row` of a `list<u32>` column.
pub fn u32_list(df: &DataFrame, column: &str, row: usize) -> Result<Vec<u32>, ShardError> {
    let list = df.column(column).and_then(|c| c.list()).map_err(column_err(column))?;
    let Some(s) = list.get_as_series(row) else {
        return Err(ShardError::Column {
            column: column.into(),
            message: format!("row {row} is null"),
        });
    };
    Ok(s.u32().map_err(column_err(column))?.into_no_null_iter().collect())
}
