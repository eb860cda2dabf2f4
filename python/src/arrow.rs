//! Arrow string arrays read in place through the Arrow C data interface
//! (<https://arrow.apache.org/docs/format/CDataInterface.html>): the `(schema, array)` capsules
//! that pyarrow and polars hand out by `__arrow_c_array__`. Nothing is copied and nothing is
//! released here: the capsules keep ownership, and their destructors release the array when
//! Python drops them.

use std::ffi::{c_char, c_void, CStr};

use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyCapsuleMethods};

/// `struct ArrowSchema` of the C data interface.
#[repr(C)]
struct FfiSchema {
    format: *const c_char,
    name: *const c_char,
    metadata: *const c_char,
    flags: i64,
    n_children: i64,
    children: *mut *mut FfiSchema,
    dictionary: *mut FfiSchema,
    release: Option<unsafe extern "C" fn(*mut FfiSchema)>,
    private_data: *mut c_void,
}

/// `struct ArrowArray` of the C data interface.
#[repr(C)]
struct FfiArray {
    length: i64,
    null_count: i64,
    offset: i64,
    n_buffers: i64,
    n_children: i64,
    buffers: *mut *const c_void,
    children: *mut *mut FfiArray,
    dictionary: *mut FfiArray,
    release: Option<unsafe extern "C" fn(*mut FfiArray)>,
    private_data: *mut c_void,
}

/// The string layouts Arrow has.
#[derive(Clone, Copy)]
enum Layout {
    /// `u`: 32-bit offsets into one data buffer.
    Utf8,
    /// `U`: 64-bit offsets.
    LargeUtf8,
    /// `vu`: 16-byte views, short strings inline, long ones in variadic data buffers.
    View,
}

/// A borrowed Arrow string array.
pub struct Strings<'a> {
    layout: Layout,
    array: &'a FfiArray,
}

impl<'a> Strings<'a> {
    /// # Safety
    /// The capsules must be an `arrow_schema` and an `arrow_array` capsule of one array, as
    /// `__arrow_c_array__` returns them, and stay alive (unreleased) while the result is used.
    pub unsafe fn from_capsules(
        schema: &'a Bound<'_, PyCapsule>,
        array: &'a Bound<'_, PyCapsule>,
    ) -> Result<Self, String> {
        let schema = schema
            .pointer_checked(Some(c"arrow_schema"))
            .map_err(|e| format!("not an Arrow schema capsule: {e}"))?
            .cast::<FfiSchema>()
            .as_ref();
        let array = array
            .pointer_checked(Some(c"arrow_array"))
            .map_err(|e| format!("not an Arrow array capsule: {e}"))?
            .cast::<FfiArray>()
            .as_ref();
        if schema.release.is_none() || array.release.is_none() {
            return Err("the Arrow array was already released (moved elsewhere)".into());
        }
        let format = CStr::from_ptr(schema.format).to_string_lossy();
        let layout = match format.as_ref() {
            "u" => Layout::Utf8,
            "U" => Layout::LargeUtf8,
            "vu" => Layout::View,
            other => return Err(format!("the text column has Arrow type {other:?}, not a string type (string, large_string or string_view)")),
        };
        // Validity and offsets (views) and the data (the views' buffer sizes at least).
        if array.n_buffers < 3 {
            return Err(format!("an Arrow string array with {} buffers", array.n_buffers));
        }
        Ok(Self { layout, array })
    }

    pub fn len(&self) -> usize {
        self.array.length as usize
    }

    /// Buffer `k` of the array.
    fn buffer(&self, k: usize) -> *const u8 {
        // SAFETY: `k` is below n_buffers (checked by the callers' layouts).
        unsafe { *self.array.buffers.add(k) as *const u8 }
    }

    /// Element `i`: `None` when null, an error when its bytes are not UTF-8.
    pub fn get(&self, i: usize) -> Result<Option<&'a str>, String> {
        assert!(i < self.len(), "index {i} out of an array of {}", self.len());
        let at = i + self.array.offset as usize;
        let validity = self.buffer(0);
        // SAFETY: a present validity bitmap holds offset + length bits.
        if self.array.null_count != 0
            && !validity.is_null()
            && unsafe { *validity.add(at / 8) } & (1 << (at % 8)) == 0
        {
            return Ok(None);
        }
        // SAFETY: the layout's buffers hold what the C data interface says they hold.
        let bytes: &'a [u8] = unsafe {
            match self.layout {
                Layout::Utf8 => {
                    let offsets = self.buffer(1) as *const i32;
                    let (start, end) = (*offsets.add(at) as usize, *offsets.add(at + 1) as usize);
                    std::slice::from_raw_parts(self.buffer(2).add(start), end - start)
                }
                Layout::LargeUtf8 => {
                    let offsets = self.buffer(1) as *const i64;
                    let (start, end) = (*offsets.add(at) as usize, *offsets.add(at + 1) as usize);
                    std::slice::from_raw_parts(self.buffer(2).add(start), end - start)
                }
                Layout::View => {
                    let view = self.buffer(1).add(at * 16);
                    let len = (view as *const u32).read_unaligned() as usize;
                    if len <= 12 {
                        std::slice::from_raw_parts(view.add(4), len)
                    } else {
                        let index = (view.add(8) as *const u32).read_unaligned() as usize;
                        let offset = (view.add(12) as *const u32).read_unaligned() as usize;
                        if 2 + index >= self.array.n_buffers as usize - 1 {
                            return Err(format!("element {i}: a string view into data buffer {index}, which the array lacks"));
                        }
                        std::slice::from_raw_parts(self.buffer(2 + index).add(offset), len)
                    }
                }
            }
        };
        std::str::from_utf8(bytes).map(Some).map_err(|e| format!("not UTF-8: {e}"))
    }
}
