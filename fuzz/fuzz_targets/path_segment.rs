//! A `{segment}` value rendered into a path: it stays one segment and decodes back.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|value: &str| {
    let Some(rendered) = oauth2_api::__private::fuzz::path_segment(value) else {
        assert!(value.is_empty(), "only an empty segment is refused");
        return;
    };
    assert!(!rendered.contains(['/', '?', '#', ' ']), "a reserved character escaped: {rendered}");
    assert!(rendered != "." && rendered != "..", "a dot segment would be normalised away");
    let decoded = percent_encoding::percent_decode_str(&rendered).decode_utf8().expect("UTF-8 round trip");
    assert_eq!(decoded, value, "the segment decodes back to the value");
});
