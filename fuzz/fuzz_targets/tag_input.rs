#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| enrelg_pipeline::fuzzing::tag_input(data));
