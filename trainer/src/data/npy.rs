//! NumPy `.npy` files (format 1.0): how `bench-model --export` hands the very
//! batches it times to the PyTorch reference (`bench/torch_reference.py`).

use std::io::Write;
use std::path::Path;

/// The elements of an array, borrowed.
pub enum NpyData<'a> {
    F32(&'a [f32]),
    I64(&'a [i64]),
    Bool(&'a [bool]),
}

impl NpyData<'_> {
    fn len(&self) -> usize {
        match self {
            Self::F32(v) => v.len(),
            Self::I64(v) => v.len(),
            Self::Bool(v) => v.len(),
        }
    }
}

/// Write a C-order array of `shape` to `path` (atomically).
pub fn write(path: &Path, shape: &[usize], data: NpyData) -> anyhow::Result<()> {
    anyhow::ensure!(
        shape.iter().product::<usize>() == data.len(),
        "{}: {} values for shape {shape:?}",
        path.display(),
        data.len()
    );
    let descr = match data {
        NpyData::F32(_) => "<f4",
        NpyData::I64(_) => "<i8",
        NpyData::Bool(_) => "|b1",
    };
    let dims: String = shape.iter().map(|d| format!("{d}, ")).collect();
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': ({}), }}",
        if shape.len() == 1 { dims.trim_end() } else { dims.trim_end_matches(", ") }
    );
    // Magic, version, header length, header: padded with spaces to a multiple of 64, ending in a newline.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.div_ceil(64) * 64 - unpadded));
    header.push('\n');
    let mut bytes = Vec::with_capacity(10 + header.len() + data.len() * 8);
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    match data {
        NpyData::F32(v) => v.iter().for_each(|x| bytes.extend_from_slice(&x.to_le_bytes())),
        NpyData::I64(v) => v.iter().for_each(|x| bytes.extend_from_slice(&x.to_le_bytes())),
        NpyData::Bool(v) => bytes.extend(v.iter().map(|&b| u8::from(b))),
    }
    enrelg_pipeline::fs::write_atomic_with(path, |tmp| -> anyhow::Result<()> {
        Ok(std::fs::File::create(tmp)?.write_all(&bytes)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_padded_to_64_bytes_and_names_dtype_and_shape() {
        let path = std::env::temp_dir().join(format!("enrelg-npy-{}.npy", std::process::id()));
        write(&path, &[2, 3], NpyData::I64(&[1, 2, 3, 4, 5, 6])).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + len) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
        assert!(
            header.starts_with("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }")
                && header.ends_with('\n'),
            "{header:?}"
        );
        assert_eq!(bytes.len(), 10 + len + 6 * 8);
        write(&path, &[3], NpyData::Bool(&[true, false, true])).unwrap();
        assert!(
            std::fs::read_to_string(&path).is_err()
                || std::fs::read(&path).unwrap().ends_with(&[1, 0, 1])
        );
        assert!(write(&path, &[2], NpyData::F32(&[1.0])).is_err());
        std::fs::remove_file(&path).unwrap();
    }
}
